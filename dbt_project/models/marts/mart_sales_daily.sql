{#-
    Sales per day (UTC) x application x country x currency x payment method x delivery
    method. Revenue and quantities count orders that are not cancelled; cancelled orders
    are only counted (cancelled_orders). Amounts in the order currency (sum them within one
    currency only) and in the reporting currency (_rc, summable across currencies).
-#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select customer_key, first_order_id from {{ ref('dim_customers') }}

),

applications as (

    select * from {{ ref('stg_norce__applications') }}

),

countries as (

    select * from {{ ref('stg_norce__countries') }}

),

currencies as (

    select * from {{ ref('stg_norce__currencies') }}

),

payment_methods as (

    select * from {{ ref('stg_norce__payment_methods') }}

),

delivery_methods as (

    select * from {{ ref('stg_norce__delivery_methods') }}

),

flagged as (

    select
        orders.*,
        orders.order_id = customers.first_order_id as is_first_order
    from orders
    left join customers
        on orders.customer_key = customers.customer_key

),

aggregated as (

    select
        {{ surrogate_key(['order_date', 'application_id', 'country_id', 'currency_id',
                          'payment_method_id', 'delivery_method_id']) }} as sales_day_key,
        order_date,
        cast(date_trunc('month', order_date) as date) as order_month,
        application_id,
        country_id,
        currency_id,
        payment_method_id,
        delivery_method_id,

        -- counts
        count(*) filter (where not is_cancelled) as orders,
        count(*) filter (where is_cancelled) as cancelled_orders,
        count(distinct customer_key) filter (where not is_cancelled) as customers,
        count(*) filter (where is_first_order) as first_orders,
        coalesce(sum(item_quantity) filter (where not is_cancelled), 0) as item_quantity,

        -- order currency
        coalesce(sum(merchandise_gross_amount) filter (where not is_cancelled), 0)
            as merchandise_gross_amount,
        coalesce(sum(discount_amount) filter (where not is_cancelled), 0) as discount_amount,
        coalesce(sum(merchandise_net_amount) filter (where not is_cancelled), 0)
            as merchandise_net_amount,
        coalesce(sum(freight_amount) filter (where not is_cancelled), 0) as freight_amount,
        coalesce(sum(fee_amount) filter (where not is_cancelled), 0) as fee_amount,
        coalesce(sum(vat_amount) filter (where not is_cancelled), 0) as vat_amount,
        coalesce(sum(order_net_amount) filter (where not is_cancelled), 0) as net_revenue,
        coalesce(sum(order_gross_amount) filter (where not is_cancelled), 0) as gross_revenue,

        -- reporting currency
        any_value(reporting_currency_code) as reporting_currency_code,
        coalesce(sum(merchandise_gross_amount_rc) filter (where not is_cancelled), 0)
            as merchandise_gross_amount_rc,
        coalesce(sum(discount_amount_rc) filter (where not is_cancelled), 0) as discount_amount_rc,
        coalesce(sum(merchandise_net_amount_rc) filter (where not is_cancelled), 0)
            as merchandise_net_amount_rc,
        coalesce(sum(freight_amount_rc) filter (where not is_cancelled), 0) as freight_amount_rc,
        coalesce(sum(fee_amount_rc) filter (where not is_cancelled), 0) as fee_amount_rc,
        coalesce(sum(vat_amount_rc) filter (where not is_cancelled), 0) as vat_amount_rc,
        coalesce(sum(order_net_amount_rc) filter (where not is_cancelled), 0) as net_revenue_rc,
        coalesce(sum(order_gross_amount_rc) filter (where not is_cancelled), 0)
            as gross_revenue_rc
    from flagged
    group by
        order_date,
        application_id,
        country_id,
        currency_id,
        payment_method_id,
        delivery_method_id

),

-- Names from today's lookups, so a renamed payment method reads the same in every period.
final as (

    select
        aggregated.sales_day_key,
        aggregated.order_date,
        aggregated.order_month,
        aggregated.application_id,
        applications.application_name,
        aggregated.country_id,
        countries.country_code,
        countries.country_name,
        aggregated.currency_id,
        currencies.currency_code,
        aggregated.payment_method_id,
        payment_methods.payment_method_name,
        aggregated.delivery_method_id,
        delivery_methods.delivery_method_name,
        aggregated.* exclude (
            sales_day_key, order_date, order_month, application_id, country_id, currency_id,
            payment_method_id, delivery_method_id
        )
    from aggregated
    left join applications
        on aggregated.application_id = applications.application_id
    left join countries
        on aggregated.country_id = countries.country_id
    left join currencies
        on aggregated.currency_id = currencies.currency_id
    left join payment_methods
        on aggregated.payment_method_id = payment_methods.payment_method_id
    left join delivery_methods
        on aggregated.delivery_method_id = delivery_methods.delivery_method_id

)

select * from final
