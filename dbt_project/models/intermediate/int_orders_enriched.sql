{#-
    The orders of this build's fact scope (int_fact_candidates: every retained order on a
    full build), shaped as fct_orders: keys, flags, dates, the revenue vocabulary summed
    from its lines in fct_order_lines, and the order fee from the header.

    is_first_order marks each customer's first order that is not cancelled (ties by
    order id), so new customers can be counted by day without the customer dimension; it
    comes from int_fact_candidates, which looks at every order of the scope's customers.
-#}
with

orders as (

    select * from {{ ref('stg_norce__orders') }}
    where {{ in_fact_scope('order_id') }}

),

customers as (

    select * from {{ ref('int_order_customers') }}
    where {{ in_fact_scope('order_id') }}

),

fx as (

    select * from {{ ref('int_order_fx') }}

),

lines as (

    select
        order_id,
        count(*) as line_count,
        {%- for measure in order_line_measures() %}
        {{ money('coalesce(sum(' ~ measure ~ '), 0)') }} as {{ measure }},
        {%- endfor %}
        true as has_lines
    from {{ ref('fct_order_lines') }}
    where {{ in_fact_scope('order_id') }}
    group by order_id

),

first_orders as (

    -- worked out over every order of the scope's customers (int_fact_candidates)
    select order_id from {{ ref('int_fact_candidates') }}
    where is_first_order

),

joined as (

    select
        orders.order_id,
        orders.order_no,
        orders.buyer_customer_id,
        orders.application_id,
        orders.country_id,
        orders.currency_id,
        orders.payment_method_id,
        orders.delivery_method_id,
        orders.status_id,
        orders.is_cancelled,
        orders.is_returned,
        orders.ordered_at,
        orders.order_date,
        orders.order_month,
        orders.created_at,
        orders.updated_at,
        orders._extracted_at,
        customers.customer_key,
        customers.is_guest_checkout,
        fx.is_invoiced,
        fx.fx_date,
        fx.fx_rate,
        fx.fx_rate_source,
        fx.reporting_currency_code,
        first_orders.order_id is not null as is_first_order,
        coalesce(lines.line_count, 0) as line_count,
        {%- for measure in order_line_measures() %}
        coalesce(lines.{{ measure }}, 0) as lines_{{ measure }},
        {%- endfor %}
        {{ money(counted('not orders.is_cancelled', 'coalesce(orders.fee_amount, 0)')) }}
            as fee_revenue
    from orders
    inner join customers
        on orders.order_id = customers.order_id
    left join fx
        on orders.order_id = fx.order_id
    left join lines
        on orders.order_id = lines.order_id
    left join first_orders
        on orders.order_id = first_orders.order_id

),

final as (

    select
        -- keys
        order_id,
        order_no,
        customer_key,
        buyer_customer_id,
        application_id,
        country_id,
        currency_id,
        payment_method_id,
        delivery_method_id,
        status_id,

        -- flags
        is_guest_checkout,
        is_first_order,
        is_cancelled,
        is_returned,
        is_invoiced,

        -- when (UTC)
        ordered_at,
        order_date,
        order_month,

        -- vocabulary, order currency
        line_count,
        lines_units as units,
        lines_returned_units as returned_units,
        lines_merchandise_amount_before_discount as merchandise_amount_before_discount,
        lines_discount_amount as discount_amount,
        lines_merchandise_revenue as merchandise_revenue,
        lines_freight_revenue as freight_revenue,
        lines_net_revenue as net_revenue,
        fee_revenue,
        lines_vat_amount as vat_amount,
        {{ money('lines_net_revenue + lines_vat_amount + fee_revenue') }} as order_total_incl_vat,
        lines_returned_revenue as returned_revenue,
        lines_net_revenue_after_returns as net_revenue_after_returns,
        lines_cost_amount as cost_amount,
        lines_merchandise_revenue_with_cost as merchandise_revenue_with_cost,
        lines_margin_amount as margin_amount,
        lines_cancelled_order_value as cancelled_order_value,

        -- vocabulary, reporting currency
        reporting_currency_code,
        fx_rate,
        fx_rate_source,
        fx_date,
        lines_merchandise_amount_before_discount_rc as merchandise_amount_before_discount_rc,
        lines_discount_amount_rc as discount_amount_rc,
        lines_merchandise_revenue_rc as merchandise_revenue_rc,
        lines_freight_revenue_rc as freight_revenue_rc,
        lines_net_revenue_rc as net_revenue_rc,
        {{ convert('fee_revenue', 'fx_rate') }} as fee_revenue_rc,
        lines_vat_amount_rc as vat_amount_rc,
        {{ money('lines_net_revenue_rc + lines_vat_amount_rc + ' ~ convert('fee_revenue', 'fx_rate')) }}
            as order_total_incl_vat_rc,
        lines_returned_revenue_rc as returned_revenue_rc,
        lines_net_revenue_after_returns_rc as net_revenue_after_returns_rc,
        lines_cost_amount_rc as cost_amount_rc,
        lines_merchandise_revenue_with_cost_rc as merchandise_revenue_with_cost_rc,
        lines_margin_amount_rc as margin_amount_rc,
        lines_cancelled_order_value_rc as cancelled_order_value_rc,

        -- lineage
        created_at,
        updated_at,
        _extracted_at
    from joined

)

select * from final
