{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook=["{{ replace_cost_state() }}"],
    )
}}
{#-
    The cost versions (int_sku_cost_versions) the incremental facts were last built with,
    brought up to date once every fact is built: int_fact_candidates rebuilds the orders
    whose SKU has a version that differs from these, in force when the order was placed.

    Incremental, like the comparison (macro cost_versions_change): nothing to do when what
    the versions are made of is unchanged; the versions of the price rows the snapshot
    changed since the last build when only prices changed; every version otherwise, and
    when the facts' code changed (macro fact_code_fingerprint). int_fact_state, which the
    comparison reads, is rebuilt after this model.
-#}
-- depends_on: {{ ref('fct_orders') }}, {{ ref('fct_order_lines') }}, {{ ref('fct_invoices') }}
-- depends_on: {{ ref('int_fact_watermarks') }}, {{ ref('snap_sku_prices') }}
{%- set change = cost_state_change() %}
-- cost versions replaced: {{ change.mode }} ({{ change.why }})
{% if change.mode == 'since' -%}
with changed_price_rows as (

    {{ changed_price_rows(change.since) }}

)

{{ of_price_rows(ref('int_sku_cost_versions'), 'changed_price_rows') }}
{%- elif change.mode == 'none' %}
select * from {{ ref('int_sku_cost_versions') }}
where false
{%- else %}
select * from {{ ref('int_sku_cost_versions') }}
{%- endif %}
