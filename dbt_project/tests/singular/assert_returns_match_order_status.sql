{{ config(severity='warn') }}
-- Status 5 means "partly returned yet invoiced": such an order should have a credit
-- invoice, and an order with a credit invoice should be in status 5. A mismatch means
-- returns are booked in a way the marts do not see (check seeds invoice_types and
-- order_statuses). One row per order loaded since the last build (every order on a
-- whole-table pass, see test_scope.sql).

select order_id, status_id, returned_units, returned_revenue
from {{ ref('fct_orders') }}
where not is_cancelled
    and (is_returned <> (returned_revenue > 0))
    and _extracted_at >= {{ test_scope_since() }}
