{#-
    One row per order, every status: keys, flags, dates and the revenue vocabulary in the
    order currency and the reporting currency (_rc); a cancelled order carries 0 in every
    revenue measure and its value in cancelled_order_value. Names and attributes come from
    the dimensions (dim_applications, dim_countries, dim_payment_methods, ...).

    Incremental: a build replaces the orders of int_fact_candidates -- the ones that may
    have changed since the last build, every order on a first or full build -- with what
    they derive to now (int_orders_enriched); an order that no longer exists in staging
    (forgotten, erased, deleted at the source) is removed with nothing in its place, so it
    disappears from every mart built on this table. See macros/incremental.sql. Its hooks
    note the customers those orders were and are of, for dim_customers
    (macros/customers.sql).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=["{{ remember_customers() }}", "{{ replace_fact_scope() }}"],
        post_hook=["{{ remember_customers() }}"],
    )
}}
-- depends_on: {{ ref('int_fact_candidates') }}

select * from {{ ref('int_orders_enriched') }}
