{#-
    One row per order line of every order in fct_orders, freight lines included
    (is_freight): keys, the line as ordered, and the revenue vocabulary in the order
    currency and the reporting currency (_rc). Names and attributes (product, brand,
    category, market, ...) are in the dimensions: join dim_products on part_no.

    Incremental, replaced per order: a build replaces every line of the orders of
    int_fact_candidates -- re-extracted, re-costed, re-rated, returned, gone -- with what
    they derive to now (int_order_lines_enriched). See macros/incremental.sql. Its hooks
    note the groups of mart_product_performance those lines were and are in
    (macros/product_performance.sql).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=["{{ remember_product_performance_groups() }}", "{{ replace_fact_scope() }}"],
        post_hook=["{{ remember_product_performance_groups() }}"],
    )
}}
-- depends_on: {{ ref('int_fact_candidates') }}

select * from {{ ref('int_order_lines_enriched') }}
