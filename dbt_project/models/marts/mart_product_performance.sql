{#-
    Product performance per SKU x month (UTC) of order: units, revenue, discounts, the share
    of units on partly returned orders (status 5), and margin where a cost is known (the
    line's CostUnit, else the application's price list CostUnit/CostPurchase). Counts
    merchandise lines of orders that are not cancelled; amounts in the reporting currency.
-#}
with

lines as (

    select * from {{ ref('fct_order_lines') }}
    where not is_freight
        and not is_cancelled

),

products as (

    select * from {{ ref('dim_products') }}

),

aggregated as (

    select
        order_month,
        part_no,
        count(distinct order_id) as orders,
        sum(quantity) as units,
        coalesce(sum(quantity) filter (where is_returned), 0) as units_on_returned_orders,
        sum(gross_amount_rc) as gross_amount_rc,
        sum(discount_amount_rc) as discount_amount_rc,
        sum(net_amount_rc) as net_revenue_rc,
        coalesce(sum(quantity) filter (where unit_cost is not null), 0) as units_with_cost,
        coalesce(sum(net_amount_rc) filter (where unit_cost is not null), 0)
            as net_revenue_with_cost_rc,
        coalesce(sum(cost_amount_rc) filter (where unit_cost is not null), 0) as cost_amount_rc,
        any_value(product_id) as line_product_id,
        any_value(product_name) as line_product_name
    from lines
    group by order_month, part_no

),

final as (

    select
        {{ surrogate_key(['aggregated.order_month', 'aggregated.part_no']) }} as product_month_key,
        aggregated.order_month,
        aggregated.part_no,
        coalesce(products.product_id, aggregated.line_product_id) as product_id,
        coalesce(products.product_name, aggregated.line_product_name) as product_name,
        products.manufacturer_id,
        products.manufacturer_name,
        products.primary_category_id,
        products.primary_category_name,
        aggregated.orders,
        aggregated.units,
        aggregated.units_on_returned_orders,
        aggregated.units_on_returned_orders / nullif(aggregated.units, 0) as return_share,
        aggregated.gross_amount_rc,
        aggregated.discount_amount_rc,
        aggregated.net_revenue_rc,
        aggregated.units_with_cost,
        aggregated.net_revenue_with_cost_rc,
        aggregated.cost_amount_rc,
        case
            when aggregated.units_with_cost > 0
                then aggregated.net_revenue_with_cost_rc - aggregated.cost_amount_rc
        end as margin_rc,
        case
            when aggregated.units_with_cost > 0
                then (aggregated.net_revenue_with_cost_rc - aggregated.cost_amount_rc)
                    / nullif(aggregated.net_revenue_with_cost_rc, 0)
        end as margin_rate
    from aggregated
    left join products
        on aggregated.part_no = products.part_no

)

select * from final
