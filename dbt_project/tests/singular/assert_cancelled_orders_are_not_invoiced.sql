{{ config(severity='warn') }}
-- Status 6 means "never invoiced or cancelled" on the observed tenant: a cancelled order
-- with an invoice means the status decoding (seed order_statuses) does not fit this
-- tenant, and revenue would leave out invoiced orders. One row per such order loaded since
-- the last build (every order on a whole-table pass, see test_scope.sql).

select order_id, status_id
from {{ ref('fct_orders') }}
where is_cancelled
    and is_invoiced
    and _extracted_at >= {{ test_scope_since() }}
