-- Our order counts and net amounts agree with Norce's Reporting/OrderSummaryByMonth within
-- var reconciliation_tolerance (relative) for every application x month x currency; a
-- month missing on either side counts as a full difference. Passes trivially when the
-- tenant serves no Reporting data (the mart is empty); assert_reporting_summary_available
-- warns about that case.

select
    application_id,
    order_month,
    currency_code,
    warehouse_order_count,
    reported_order_count,
    warehouse_net_amount,
    reported_net_amount,
    order_count_relative_difference,
    net_amount_relative_difference,
    reconciliation_status
from {{ ref('mart_reporting_reconciliation') }}
where not is_within_tolerance
