{#-
    One row per order (all statuses; revenue marts leave out is_cancelled).

    Incremental: each run takes the orders extracted since the last build (plus the last
    batch again, which delete+insert makes harmless) and replaces them by order_id. The
    post-hook removes orders that no longer exist in staging -- forgotten (purged by the
    loader), erased, or deleted at the source -- so they disappear from every mart built on
    this table. A change of reporting currency reprocesses every order.
-#}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook=[
            "delete from {{ this }} as fact
             where not exists (
                 select 1 from {{ ref('stg_norce__orders') }} as staged
                 where staged.order_id = fact.order_id
             )"
        ],
    )
}}
-- depends_on: {{ ref('stg_norce__orders') }}

with

orders as (

    select * from {{ ref('int_orders_converted') }}
    {% if is_incremental() %}
    where _extracted_at >= (
            select coalesce(max(_extracted_at), '-infinity'::timestamptz) from {{ this }}
        )
        or exists (
            select 1 from {{ this }}
            where reporting_currency_code is distinct from upper('{{ var("reporting_currency") }}')
        )
    {% endif %}

),

final as (

    select
        -- keys
        order_id,
        order_no,
        customer_key,
        buyer_customer_id,
        is_guest_checkout,

        -- where and how
        application_id,
        application_name,
        country_id,
        country_code,
        country_name,
        payment_method_id,
        payment_method_name,
        delivery_method_id,
        delivery_method_name,

        -- status
        status_id,
        status_name,
        is_cancelled,
        is_returned,

        -- when (UTC)
        ordered_at,
        order_date,
        order_month,

        -- quantities
        line_count,
        item_quantity,

        -- amounts in the order currency, ex VAT unless named gross
        currency_id,
        currency_code,
        merchandise_gross_amount,
        discount_amount,
        merchandise_net_amount,
        freight_amount,
        freight_line_amount,
        fee_amount,
        vat_amount,
        order_net_amount,
        order_gross_amount,
        known_cost_amount,
        lines_without_cost,

        -- the same in the reporting currency
        reporting_currency_code,
        exchange_rate_to_eur,
        reporting_currency_factor,
        merchandise_gross_amount_rc,
        discount_amount_rc,
        merchandise_net_amount_rc,
        freight_amount_rc,
        fee_amount_rc,
        vat_amount_rc,
        order_net_amount_rc,
        order_gross_amount_rc,
        known_cost_amount_rc,

        -- lineage
        created_at,
        updated_at,
        _extracted_at

    from orders

)

select * from final
