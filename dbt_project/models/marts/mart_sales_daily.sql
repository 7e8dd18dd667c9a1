{#-
    Sales per day (UTC) x application x country x currency x payment method x delivery
    method, in the revenue vocabulary: counts, then every additive measure of fct_orders in
    the order currency (add up within one currency only) and in the reporting currency
    (_rc, add up across currencies). distinct_customers_nonadditive must not be summed
    across rows. Names are today's, from the dimensions.
-#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

aggregated as (

    select
        order_date,
        application_id,
        country_id,
        currency_id,
        payment_method_id,
        delivery_method_id,

        -- counts
        count(*) filter (where not is_cancelled) as orders,
        count(*) filter (where is_cancelled) as cancelled_orders,
        count(*) filter (where is_first_order) as first_orders,
        count(distinct customer_key) filter (where not is_cancelled)
            as distinct_customers_nonadditive,

        {{ money('sum(units)') }} as units,
        {{ money('sum(returned_units)') }} as returned_units,
        -- order currency, then reporting currency
        {%- for measure in sales_measures() %}
        {{ money('sum(' ~ measure ~ ')') }} as {{ measure }},
        {%- endfor %}
        any_value(reporting_currency_code) as reporting_currency_code,
        {%- for measure in sales_measures() %}
        {{ money('sum(' ~ measure ~ '_rc)') }} as {{ measure }}_rc{{ "," if not loop.last }}
        {%- endfor %}
    from orders
    group by
        order_date,
        application_id,
        country_id,
        currency_id,
        payment_method_id,
        delivery_method_id

)

{{ sales_with_names('aggregated', 'order_date') }}
