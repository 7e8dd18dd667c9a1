{#-
    One row per order line of every order in fct_orders, freight lines included
    (is_freight). Amounts in the order currency, ex VAT, and in the reporting currency.

    Incremental like fct_orders, but replaced per order (unique_key order_id): a
    re-extracted order brings all its current lines, so lines removed at the source go too.
    The post-hook drops lines whose order or line no longer exists in staging.
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
             )
             or not exists (
                 select 1 from {{ ref('stg_norce__order_items') }} as staged
                 where staged.order_line_id = fact.order_line_id
             )"
        ],
    )
}}
-- depends_on: {{ ref('stg_norce__orders') }}, {{ ref('stg_norce__order_items') }}

with

lines as (

    select * from {{ ref('int_order_lines_enriched') }}
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

orders as (

    select * from {{ ref('int_orders_converted') }}

),

final as (

    select
        -- keys
        lines.order_line_id,
        lines.order_id,
        lines.line_number,
        orders.customer_key,

        -- order context
        lines.application_id,
        orders.country_id,
        lines.status_id,
        lines.is_cancelled,
        lines.is_returned,
        lines.ordered_at,
        lines.order_date,
        lines.order_month,

        -- article
        lines.part_no,
        lines.is_freight,
        lines.product_id,
        lines.product_name,
        lines.manufacturer_id,
        lines.manufacturer_name,
        lines.primary_category_id,
        lines.primary_category_name,

        -- amounts in the order currency, ex VAT unless named gross
        lines.currency_id,
        orders.currency_code,
        lines.quantity,
        lines.unit_price,
        lines.gross_amount,
        lines.discount_amount,
        lines.net_amount,
        lines.vat_rate,
        lines.vat_amount,
        lines.unit_cost,
        lines.cost_amount,
        lines.cost_source,

        -- the same in the reporting currency
        orders.reporting_currency_code,
        {{ convert('lines.gross_amount', 'orders.reporting_currency_factor') }} as gross_amount_rc,
        {{ convert('lines.discount_amount', 'orders.reporting_currency_factor') }} as discount_amount_rc,
        {{ convert('lines.net_amount', 'orders.reporting_currency_factor') }} as net_amount_rc,
        {{ convert('lines.vat_amount', 'orders.reporting_currency_factor') }} as vat_amount_rc,
        {{ convert('lines.cost_amount', 'orders.reporting_currency_factor') }} as cost_amount_rc,

        lines._extracted_at

    from lines
    inner join orders
        on lines.order_id = orders.order_id

)

select * from final
