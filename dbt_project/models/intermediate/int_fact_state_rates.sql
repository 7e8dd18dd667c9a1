{{ config(materialized='table') }}
{#-
    The rates (int_exchange_rates_daily) the incremental facts were last built with,
    rebuilt once every fact is built: int_fact_candidates rebuilds the orders of the days
    whose rate differs from these.
-#}
-- depends_on: {{ ref('fct_orders') }}, {{ ref('fct_order_lines') }}, {{ ref('fct_invoices') }}
select currency_id, date_day, rate_to_eur
from {{ ref('int_exchange_rates_daily') }}
