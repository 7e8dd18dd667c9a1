{#-
    Sales per UTC month x application x country x currency x payment method x delivery
    method: mart_sales_daily added up by month (so the two cannot disagree), plus the
    month's distinct customers (not additive across rows), counted from fct_orders.
-#}
with

daily as (

    select * from {{ ref('mart_sales_daily') }}

),

monthly as (

    select
        order_month,
        application_id,
        country_id,
        currency_id,
        payment_method_id,
        delivery_method_id,
        cast(sum(orders) as bigint) as orders,
        cast(sum(cancelled_orders) as bigint) as cancelled_orders,
        cast(sum(first_orders) as bigint) as first_orders,
        {{ money('sum(units)') }} as units,
        {{ money('sum(returned_units)') }} as returned_units,
        {%- for measure in sales_measures() %}
        {{ money('sum(' ~ measure ~ ')') }} as {{ measure }},
        {%- endfor %}
        any_value(reporting_currency_code) as reporting_currency_code,
        {%- for measure in sales_measures() %}
        {{ money('sum(' ~ measure ~ '_rc)') }} as {{ measure }}_rc{{ "," if not loop.last }}
        {%- endfor %}
    from daily
    group by all

),

customers as (

    select
        order_month,
        application_id,
        country_id,
        currency_id,
        payment_method_id,
        delivery_method_id,
        count(distinct customer_key) filter (where not is_cancelled)
            as distinct_customers_nonadditive
    from {{ ref('fct_orders') }}
    group by all

),

aggregated as (

    select
        monthly.* exclude (reporting_currency_code),
        customers.distinct_customers_nonadditive,
        monthly.reporting_currency_code
    from monthly
    left join customers
        on monthly.order_month = customers.order_month
        and monthly.application_id is not distinct from customers.application_id
        and monthly.country_id is not distinct from customers.country_id
        and monthly.currency_id is not distinct from customers.currency_id
        and monthly.payment_method_id is not distinct from customers.payment_method_id
        and monthly.delivery_method_id is not distinct from customers.delivery_method_id

)

{{ sales_with_names('aggregated', 'order_month') }}
