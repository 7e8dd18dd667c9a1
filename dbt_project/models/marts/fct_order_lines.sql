{#-
    One row per order line of every order in fct_orders, freight lines included
    (is_freight): keys, the line as ordered, and the revenue vocabulary in the order
    currency and the reporting currency (_rc). Names and attributes (product, brand,
    category, market, ...) are in the dimensions: join dim_products on part_no.

    Incremental, replaced per order: every build re-derives the lines
    (int_order_lines_enriched) and rewrites the orders whose lines are new or changed --
    re-extracted, re-costed, re-rated, returned -- see macro changed_keys_filter. The
    post-hook drops lines whose order or line no longer exists in staging.
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
             )
             or not exists (
                 select 1 from {{ ref('stg_norce__order_items') }} as staged
                 where staged.order_line_id = fact.order_line_id
             )"
        ],
    )
}}
-- depends_on: {{ ref('stg_norce__orders') }}, {{ ref('stg_norce__order_items') }}

with fresh as materialized (

    select * from {{ ref('int_order_lines_enriched') }}

)

select * from fresh
{{ changed_keys_filter(ref('int_order_lines_enriched'), 'order_id') }}
