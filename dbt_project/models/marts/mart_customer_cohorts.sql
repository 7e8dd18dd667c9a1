{#-
    Monthly acquisition cohorts by first market: one row per cohort month x application of
    the first order x months since the first order, from 0 up to the latest month with
    orders (inactive months as 0), as of as_of_date.

    A customer's cohort is the UTC month of their first non-cancelled order; they are
    active in a month when they place a non-cancelled order in it. Retention at month k =
    active customers in cohort month + k / cohort size. The first var
    cohort_burn_in_months months of the order history are flagged is_left_censored: a
    customer who had ordered before the history began lands there as if new.
-#}
with

customers as (

    select customer_key, cohort_month, first_application_id
    from {{ ref('dim_customers') }}
    where lifetime_orders > 0

),

orders as (

    select * from {{ ref('fct_orders') }}
    where not is_cancelled
        and {{ as_of_filter('ordered_at') }}

),

history as (

    select
        min(order_month) as first_order_month,
        max(order_month) as last_order_month
    from orders

),

cohort_sizes as (

    select cohort_month, first_application_id, count(*) as cohort_size
    from customers
    group by cohort_month, first_application_id

),

-- Every cohort x every month since it started, so gaps read as 0 rather than missing.
grid as (

    select
        cohort_sizes.cohort_month,
        cohort_sizes.first_application_id,
        cohort_sizes.cohort_size,
        cohort_sizes.cohort_month < cast(
            history.first_order_month + to_months({{ var('cohort_burn_in_months') }}) as date
        ) as is_left_censored,
        cast(months.months_since_first_order as integer) as months_since_first_order
    from cohort_sizes
    cross join history
    cross join lateral (
        select unnest(range(
            0, datediff('month', cohort_sizes.cohort_month, history.last_order_month) + 1
        )) as months_since_first_order
    ) as months

),

activity as (

    select
        customers.cohort_month,
        customers.first_application_id,
        datediff('month', customers.cohort_month, orders.order_month) as months_since_first_order,
        count(distinct orders.customer_key) as active_customers,
        count(*) as orders,
        sum(orders.net_revenue_rc) as net_revenue_rc
    from orders
    inner join customers
        on orders.customer_key = customers.customer_key
    group by 1, 2, 3

),

final as (

    select
        grid.cohort_month,
        grid.first_application_id,
        grid.months_since_first_order,
        cast(grid.cohort_month + to_months(grid.months_since_first_order) as date) as activity_month,
        grid.is_left_censored,
        grid.cohort_size,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.active_customers, 0) / grid.cohort_size as retention_rate,
        coalesce(activity.orders, 0) as orders,
        {{ money('coalesce(activity.net_revenue_rc, 0)') }} as net_revenue_rc,
        {{ money(
            'sum(coalesce(activity.net_revenue_rc, 0)) over (
            partition by grid.cohort_month, grid.first_application_id
            order by grid.months_since_first_order
            rows between unbounded preceding and current row)'
        ) }} as cumulative_net_revenue_rc,
        cast(
            sum(coalesce(activity.net_revenue_rc, 0)) over (
                partition by grid.cohort_month, grid.first_application_id
                order by grid.months_since_first_order
                rows between unbounded preceding and current row
            ) / grid.cohort_size as decimal(18, 4)
        ) as cumulative_net_revenue_per_customer_rc
    from grid
    left join activity
        on grid.cohort_month = activity.cohort_month
        and grid.first_application_id is not distinct from activity.first_application_id
        and grid.months_since_first_order = activity.months_since_first_order

)

select * from final
