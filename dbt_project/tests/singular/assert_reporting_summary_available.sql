{{ config(severity='warn') }}
-- Warns (never fails the build) when Reporting/OrderSummaryByMonth holds no rows: the
-- tenant answered 500 or the set was not loaded, so mart_reporting_reconciliation is empty
-- and nothing was reconciled. Orders exist but Norce's own totals do not.

select
    'Reporting/OrderSummaryByMonth is empty: nothing to reconcile' as issue,
    count(*) as warehouse_orders
from {{ ref('fct_orders') }}
having count(*) > 0
    and not exists (select 1 from {{ ref('stg_norce__order_summary_by_month') }})
