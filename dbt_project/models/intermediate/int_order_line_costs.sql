{#-
    The unit cost of every merchandise order line of this build's fact scope
    (int_fact_candidates), in the order currency: one row per line
    whose cost is known.

    The line's own CostUnit wins (0 = not populated); else the price-list cost in force
    when the order was placed, from the application's preferred price list (see
    int_sku_cost_versions), converted from the price list's currency at the order day's
    rates (exactly, when the currencies are the same).
-#}
with

lines as (

    select order_line_id, order_id, part_no, quantity, unit_cost
    from {{ ref('stg_norce__order_items') }}
    where not {{ is_freight('part_no') }}
        and {{ in_fact_scope('order_id') }}

),

orders as (

    select order_id, application_id, currency_id, ordered_at, order_date
    from {{ ref('stg_norce__orders') }}
    where {{ in_fact_scope('order_id') }}

),

versions as (

    select * from {{ ref('int_sku_cost_versions') }}

),

rates as (

    select * from {{ ref('int_exchange_rates_daily') }}

),

price_list_costs as (

    select
        lines.order_line_id,
        versions.price_list_id,
        versions.cost_source,
        case
            when versions.currency_id = orders.currency_id then versions.unit_cost
            else {{ convert(
                'versions.unit_cost',
                'cast(cost_rate.rate_to_eur as double) / nullif(cast(order_rate.rate_to_eur as double), 0)'
            ) }}
        end as unit_cost
    from lines
    inner join orders
        on lines.order_id = orders.order_id
    inner join versions
        on orders.application_id = versions.application_id
        and lines.part_no = versions.part_no
        and orders.ordered_at >= versions.effective_from
        and orders.ordered_at < versions.effective_to
    left join rates as cost_rate
        on versions.currency_id = cost_rate.currency_id
        and orders.order_date = cost_rate.date_day
    left join rates as order_rate
        on orders.currency_id = order_rate.currency_id
        and orders.order_date = order_rate.date_day
    qualify row_number() over (
        partition by lines.order_line_id
        order by
            versions.is_application_price_list desc,
            versions.is_primary_price_list desc,
            versions.is_active desc,
            versions.quantity_break,
            versions.price_list_id
    ) = 1

),

final as (

    select
        lines.order_line_id,
        coalesce(lines.unit_cost, price_list_costs.unit_cost) as unit_cost,
        case
            when lines.unit_cost is not null then 'order_line'
            else price_list_costs.cost_source
        end as cost_source,
        case when lines.unit_cost is null then price_list_costs.price_list_id end
            as cost_price_list_id
    from lines
    left join price_list_costs
        on lines.order_line_id = price_list_costs.order_line_id
    where coalesce(lines.unit_cost, price_list_costs.unit_cost) is not null

)

select * from final
