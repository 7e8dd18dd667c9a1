-- Money identity: mart_sales_monthly adds up to fct_orders (orders not cancelled) per month
-- x application x currency, for counts, order-currency and reporting-currency amounts.
-- Returns one row per group that disagrees.

with

facts as (

    select
        order_month,
        application_id,
        currency_id,
        count(*) filter (where not is_cancelled) as orders,
        count(*) filter (where is_cancelled) as cancelled_orders,
        coalesce(sum(item_quantity) filter (where not is_cancelled), 0) as item_quantity,
        coalesce(sum(order_net_amount) filter (where not is_cancelled), 0) as net_revenue,
        coalesce(sum(vat_amount) filter (where not is_cancelled), 0) as vat_amount,
        coalesce(sum(freight_amount) filter (where not is_cancelled), 0) as freight_amount,
        coalesce(sum(order_net_amount_rc) filter (where not is_cancelled), 0) as net_revenue_rc
    from {{ ref('fct_orders') }}
    group by all

),

mart as (

    select
        order_month,
        application_id,
        currency_id,
        sum(orders) as orders,
        sum(cancelled_orders) as cancelled_orders,
        sum(item_quantity) as item_quantity,
        sum(net_revenue) as net_revenue,
        sum(vat_amount) as vat_amount,
        sum(freight_amount) as freight_amount,
        sum(net_revenue_rc) as net_revenue_rc
    from {{ ref('mart_sales_monthly') }}
    group by all

)

select
    coalesce(facts.order_month, mart.order_month) as order_month,
    coalesce(facts.application_id, mart.application_id) as application_id,
    coalesce(facts.currency_id, mart.currency_id) as currency_id,
    facts.net_revenue as fct_net_revenue,
    mart.net_revenue as mart_net_revenue
from facts
full outer join mart
    on facts.order_month = mart.order_month
    and facts.application_id is not distinct from mart.application_id
    and facts.currency_id is not distinct from mart.currency_id
where facts.orders is distinct from mart.orders
    or facts.cancelled_orders is distinct from mart.cancelled_orders
    or facts.item_quantity is distinct from mart.item_quantity
    or facts.net_revenue is distinct from mart.net_revenue
    or facts.vat_amount is distinct from mart.vat_amount
    or facts.freight_amount is distinct from mart.freight_amount
    or facts.net_revenue_rc is distinct from mart.net_revenue_rc
