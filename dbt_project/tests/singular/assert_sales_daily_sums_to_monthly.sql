-- Money identity: the days of mart_sales_daily add up to mart_sales_monthly for every month
-- and dimension combination, for every additive measure. Returns one row per mismatch.

with

daily as (

    select
        order_month,
        application_id,
        country_id,
        currency_id,
        payment_method_id,
        delivery_method_id,
        sum(orders) as orders,
        sum(cancelled_orders) as cancelled_orders,
        sum(first_orders) as first_orders,
        sum(item_quantity) as item_quantity,
        sum(merchandise_gross_amount) as merchandise_gross_amount,
        sum(discount_amount) as discount_amount,
        sum(merchandise_net_amount) as merchandise_net_amount,
        sum(freight_amount) as freight_amount,
        sum(fee_amount) as fee_amount,
        sum(vat_amount) as vat_amount,
        sum(net_revenue) as net_revenue,
        sum(gross_revenue) as gross_revenue,
        sum(net_revenue_rc) as net_revenue_rc,
        sum(gross_revenue_rc) as gross_revenue_rc
    from {{ ref('mart_sales_daily') }}
    group by all

),

monthly as (

    select * from {{ ref('mart_sales_monthly') }}

)

select
    coalesce(daily.order_month, monthly.order_month) as order_month,
    coalesce(daily.application_id, monthly.application_id) as application_id,
    coalesce(daily.currency_id, monthly.currency_id) as currency_id,
    daily.net_revenue as daily_net_revenue,
    monthly.net_revenue as monthly_net_revenue
from daily
full outer join monthly
    on daily.order_month = monthly.order_month
    and daily.application_id is not distinct from monthly.application_id
    and daily.country_id is not distinct from monthly.country_id
    and daily.currency_id is not distinct from monthly.currency_id
    and daily.payment_method_id is not distinct from monthly.payment_method_id
    and daily.delivery_method_id is not distinct from monthly.delivery_method_id
where daily.orders is distinct from monthly.orders
    or daily.cancelled_orders is distinct from monthly.cancelled_orders
    or daily.first_orders is distinct from monthly.first_orders
    or daily.item_quantity is distinct from monthly.item_quantity
    or daily.merchandise_gross_amount is distinct from monthly.merchandise_gross_amount
    or daily.discount_amount is distinct from monthly.discount_amount
    or daily.merchandise_net_amount is distinct from monthly.merchandise_net_amount
    or daily.freight_amount is distinct from monthly.freight_amount
    or daily.fee_amount is distinct from monthly.fee_amount
    or daily.vat_amount is distinct from monthly.vat_amount
    or daily.net_revenue is distinct from monthly.net_revenue
    or daily.gross_revenue is distinct from monthly.gross_revenue
    or daily.net_revenue_rc is distinct from monthly.net_revenue_rc
    or daily.gross_revenue_rc is distinct from monthly.gross_revenue_rc
