-- Our order counts and net amounts agree with Norce's Reporting/OrderSummaryByMonth within
-- var reconciliation_tolerance (relative) for every application x month x currency; a
-- month missing on either side counts as a full difference. Passes when the tenant
-- serves no Reporting data (the mart says 'Norce summary not available' and
-- assert_reporting_summary_available warns).

select
    application_id,
    order_month,
    currency_code,
    warehouse_order_count,
    reported_order_count,
    warehouse_net_revenue,
    reported_net_revenue,
    order_count_relative_difference,
    net_revenue_relative_difference,
    reconciliation_status
from {{ ref('mart_reporting_reconciliation') }}
where not is_within_tolerance
