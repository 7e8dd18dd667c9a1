{{ config(materialized='table') }}
{#-
    The cost versions (int_sku_cost_versions) the incremental facts were last built with,
    rebuilt once every fact is built: int_fact_candidates rebuilds the orders whose SKU
    has a version that differs from these, in force when the order was placed.
-#}
-- depends_on: {{ ref('fct_orders') }}, {{ ref('fct_order_lines') }}, {{ ref('fct_invoices') }}
select * from {{ ref('int_sku_cost_versions') }}
