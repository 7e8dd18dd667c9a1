{{ config(severity='warn') }}
-- An application is a market with one currency (dim_applications.currency_id): orders in
-- another currency mean a multi-currency shop, whose order-currency amounts must then be
-- summed per currency. One row per application and currency, of the orders loaded since
-- the last build (every order on a whole-table pass, see test_scope.sql).

select
    orders.application_id,
    applications.currency_id as application_currency_id,
    orders.currency_id as order_currency_id,
    count(*) as orders
from {{ ref('fct_orders') }} as orders
inner join {{ ref('dim_applications') }} as applications
    on orders.application_id = applications.application_id
where orders.currency_id is distinct from applications.currency_id
    and orders._extracted_at >= {{ test_scope_since() }}
group by all
