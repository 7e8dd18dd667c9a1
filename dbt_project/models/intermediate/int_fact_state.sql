{{ config(materialized='table') }}
{#-
    What the incremental facts were last built from, rebuilt once every fact is built
    (int_fact_candidates compares the next build with it): the source watermarks taken
    before the build (int_fact_watermarks), the reporting currency and the fingerprint of
    the facts' code (macro fact_code_fingerprint). One row.
-#}
-- depends_on: {{ ref('fct_orders') }}, {{ ref('fct_order_lines') }}, {{ ref('fct_invoices') }}
-- written last: int_fact_state_costs reads the state of the last build
-- depends_on: {{ ref('int_fact_state_costs') }}
select
    watermarks.orders_extracted_at,
    watermarks.order_items_extracted_at,
    watermarks.invoices_extracted_at,
    watermarks.invoice_items_extracted_at,
    watermarks.customers_extracted_at,
    watermarks.cost_inputs_hash,
    watermarks.cost_lookups_hash,
    watermarks.prices_snapshot_at,
    watermarks.prices_snapshot_hash,
    (select reporting_currency_code from {{ ref('int_reporting_currency') }})
        as reporting_currency_code,
    '{{ fact_code_fingerprint() }}' as code_fingerprint
from {{ ref('int_fact_watermarks') }} as watermarks
