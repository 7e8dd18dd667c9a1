{#-
    One row per order, every status: keys, flags, dates and the revenue vocabulary in the
    order currency and the reporting currency (_rc); a cancelled order carries 0 in every
    revenue measure and its value in cancelled_order_value. Names and attributes come from
    the dimensions (dim_applications, dim_countries, dim_payment_methods, ...).

    Incremental: every build re-derives the orders (int_orders_enriched) and rewrites the
    ones that are new or changed (macro changed_keys_filter). The post-hook removes orders
    that no longer exist in staging -- forgotten (purged by the loader), erased, or deleted
    at the source -- so they disappear from every mart built on this table.
-#}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
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

with fresh as materialized (

    select * from {{ ref('int_orders_enriched') }}

)

select * from fresh
{{ changed_keys_filter(ref('int_orders_enriched'), 'order_id') }}
