{#-
    Every line of the orders of this build's fact scope (int_fact_candidates: every
    retained order on a full build), shaped as fct_order_lines: keys, the line's source
    figures, and the revenue vocabulary (see the docs' "Revenue vocabulary") in the order
    currency and in the reporting currency.

    Measures count what revenue counts: a cancelled order's lines carry 0 in every revenue
    measure and their value in cancelled_order_value; freight lines count in freight and
    net revenue, never in merchandise, units, discounts or cost. Returns are the credit
    invoices booked against the line, converted at their own rates.
-#}
with

lines as (

    select * from {{ ref('stg_norce__order_items') }}
    where {{ in_fact_scope('order_id') }}

),

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

costs as (

    select * from {{ ref('int_order_line_costs') }}

),

returns as (

    select * from {{ ref('int_order_line_returns') }}

),

joined as (

    select
        lines.order_line_id,
        lines.order_id,
        lines.line_number,
        customers.customer_key,
        orders.application_id,
        orders.country_id,
        orders.currency_id,
        orders.status_id,
        orders.is_cancelled,
        orders.is_returned,
        orders.ordered_at,
        orders.order_date,
        orders.order_month,
        lines.part_no,
        {{ is_freight('lines.part_no') }} as is_freight,
        lines.quantity,
        lines.unit_price,
        lines.vat_rate,
        costs.unit_cost,
        costs.cost_source,
        {{ money_product('lines.quantity', 'lines.unit_price') }} as amount_before_discount,
        lines.discount_amount as line_discount_amount,
        lines.line_amount,
        {{ percent_of('lines.line_amount', 'lines.vat_rate') }} as line_vat_amount,
        {{ money_product('lines.quantity', 'costs.unit_cost') }} as line_cost_amount,
        coalesce(returns.returned_units, 0) as line_returned_units,
        coalesce(returns.returned_revenue, 0) as line_returned_revenue,
        coalesce(returns.returned_revenue_rc, 0) as line_returned_revenue_rc,
        fx.reporting_currency_code,
        fx.fx_rate,
        fx.fx_rate_source,
        orders._extracted_at
    from lines
    inner join orders
        on lines.order_id = orders.order_id
    inner join customers
        on lines.order_id = customers.order_id
    left join fx
        on lines.order_id = fx.order_id
    left join costs
        on lines.order_line_id = costs.order_line_id
    left join returns
        on lines.order_line_id = returns.order_line_id

),

measured as (

    select
        *,
        not is_cancelled and not is_freight as is_merchandise_revenue,
        not is_cancelled and not is_freight and unit_cost is not null as is_costed
    from joined

),

final as (

    select
        -- keys
        order_line_id,
        order_id,
        line_number,
        customer_key,
        application_id,
        country_id,
        currency_id,
        status_id,
        part_no,

        -- flags and dates
        is_freight,
        is_cancelled,
        is_returned,
        ordered_at,
        order_date,
        order_month,

        -- the line as ordered (order currency, ex VAT)
        quantity,
        unit_price,
        vat_rate,
        unit_cost,
        cost_source,

        -- vocabulary, order currency
        {{ money(counted('is_merchandise_revenue', 'quantity')) }} as units,
        {{ money(counted('is_merchandise_revenue', 'line_returned_units')) }} as returned_units,
        {{ money(counted('is_merchandise_revenue', 'amount_before_discount')) }}
            as merchandise_amount_before_discount,
        {{ money(counted('is_merchandise_revenue', 'line_discount_amount')) }} as discount_amount,
        {{ money(counted('is_merchandise_revenue', 'line_amount')) }} as merchandise_revenue,
        {{ money(counted('not is_cancelled and is_freight', 'line_amount')) }} as freight_revenue,
        {{ money(counted('not is_cancelled', 'line_amount')) }} as net_revenue,
        {{ money(counted('not is_cancelled', 'line_vat_amount')) }} as vat_amount,
        {{ money(counted('not is_cancelled', 'line_returned_revenue')) }} as returned_revenue,
        {{ money(counted('not is_cancelled', 'line_amount - line_returned_revenue')) }}
            as net_revenue_after_returns,
        {{ money(counted('is_costed', 'line_cost_amount')) }} as cost_amount,
        {{ money(counted('is_costed', 'line_amount')) }} as merchandise_revenue_with_cost,
        {{ money(counted('is_costed', 'line_amount - line_cost_amount')) }} as margin_amount,
        {{ money(counted('is_cancelled', 'line_amount')) }} as cancelled_order_value,

        -- vocabulary, reporting currency
        reporting_currency_code,
        fx_rate,
        fx_rate_source,
        {{ convert(counted('is_merchandise_revenue', 'amount_before_discount'), 'fx_rate') }}
            as merchandise_amount_before_discount_rc,
        {{ convert(counted('is_merchandise_revenue', 'line_discount_amount'), 'fx_rate') }}
            as discount_amount_rc,
        {{ convert(counted('is_merchandise_revenue', 'line_amount'), 'fx_rate') }}
            as merchandise_revenue_rc,
        {{ convert(counted('not is_cancelled and is_freight', 'line_amount'), 'fx_rate') }}
            as freight_revenue_rc,
        {{ convert(counted('not is_cancelled', 'line_amount'), 'fx_rate') }} as net_revenue_rc,
        {{ convert(counted('not is_cancelled', 'line_vat_amount'), 'fx_rate') }} as vat_amount_rc,
        {{ money(counted('not is_cancelled', 'line_returned_revenue_rc')) }} as returned_revenue_rc,
        {{ money(
            convert(counted('not is_cancelled', 'line_amount'), 'fx_rate')
            ~ ' - ' ~ counted('not is_cancelled', 'line_returned_revenue_rc')
        ) }} as net_revenue_after_returns_rc,
        {{ convert(counted('is_costed', 'line_cost_amount'), 'fx_rate') }} as cost_amount_rc,
        {{ convert(counted('is_costed', 'line_amount'), 'fx_rate') }}
            as merchandise_revenue_with_cost_rc,
        {{ money(
            convert(counted('is_costed', 'line_amount'), 'fx_rate')
            ~ ' - ' ~ convert(counted('is_costed', 'line_cost_amount'), 'fx_rate')
        ) }} as margin_amount_rc,
        {{ convert(counted('is_cancelled', 'line_amount'), 'fx_rate') }} as cancelled_order_value_rc,

        _extracted_at
    from measured

)

select * from final
