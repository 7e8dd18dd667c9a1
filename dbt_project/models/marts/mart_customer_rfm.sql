{#-
    Recency, frequency and monetary scores (1-5, 5 best) and a segment for every customer
    with at least one non-cancelled order, as of the as_of_date (see dim_customers), with
    the customer's first market (application and country of the first order).

    Recency and monetary are quintiles of the customer base (percent rank, so equal values
    always share a score). Frequency uses fixed order counts instead, because most
    customers order once and quintiles of a value most people share are meaningless:
    1, 2, 3, 4-5, 6+ orders score 1 to 5.
-#}
with

customers as (

    select * from {{ ref('dim_customers') }}
    where lifetime_orders > 0

),

scored as (

    select
        customer_key,
        customer_id,
        is_registered,
        first_application_id,
        first_country_id,
        as_of_date,
        last_order_date,
        days_since_last_order as recency_days,
        lifetime_orders as frequency,
        lifetime_net_revenue_rc as monetary_rc,
        1 + least(4, floor(5 * percent_rank() over (order by days_since_last_order desc)))
            as recency_score,
        case
            when lifetime_orders >= 6 then 5
            when lifetime_orders >= 4 then 4
            else lifetime_orders
        end as frequency_score,
        1 + least(4, floor(5 * percent_rank() over (order by lifetime_net_revenue_rc)))
            as monetary_score
    from customers

),

final as (

    select
        customer_key,
        customer_id,
        is_registered,
        first_application_id,
        first_country_id,
        as_of_date,
        last_order_date,
        recency_days,
        frequency,
        monetary_rc,
        cast(recency_score as integer) as recency_score,
        cast(frequency_score as integer) as frequency_score,
        cast(monetary_score as integer) as monetary_score,
        cast(recency_score as varchar) || cast(frequency_score as varchar)
            || cast(monetary_score as varchar) as rfm_cell,
        case
            when recency_score >= 4 and frequency_score >= 4 then 'champions'
            when recency_score >= 3 and frequency_score >= 3 then 'loyal'
            when recency_score >= 4 and frequency_score = 2 then 'promising'
            when recency_score >= 4 then 'new'
            when recency_score = 3 then 'needs_attention'
            when frequency_score >= 3 then 'at_risk'
            else 'hibernating'
        end as rfm_segment
    from scored

)

select * from final
