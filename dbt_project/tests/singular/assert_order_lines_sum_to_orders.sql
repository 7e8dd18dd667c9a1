-- Money identity: every order's amounts in fct_orders equal the sum of its lines in
-- fct_order_lines (order currency, exact decimals), and no order or line is orphaned.
-- Returns one row per order that disagrees.

with

orders as (

    select * from {{ ref('fct_orders') }}

),

line_totals as (

    select
        order_id,
        count(*) as line_count,
        coalesce(sum(quantity) filter (where not is_freight), 0) as item_quantity,
        coalesce(sum(gross_amount) filter (where not is_freight), 0) as merchandise_gross_amount,
        coalesce(sum(net_amount) filter (where not is_freight), 0) as merchandise_net_amount,
        sum(discount_amount) as discount_amount,
        sum(vat_amount) as vat_amount,
        sum(net_amount) as order_net_amount
    from {{ ref('fct_order_lines') }}
    group by order_id

)

select
    coalesce(orders.order_id, line_totals.order_id) as order_id,
    orders.order_net_amount,
    line_totals.order_net_amount as lines_net_amount,
    orders.vat_amount,
    line_totals.vat_amount as lines_vat_amount
from orders
full outer join line_totals
    on orders.order_id = line_totals.order_id
where
    -- an order without lines is legitimate (all amounts 0); lines without an order are not
    orders.order_id is null
    or orders.line_count <> coalesce(line_totals.line_count, 0)
    or orders.item_quantity <> coalesce(line_totals.item_quantity, 0)
    or orders.merchandise_gross_amount <> coalesce(line_totals.merchandise_gross_amount, 0)
    or orders.merchandise_net_amount <> coalesce(line_totals.merchandise_net_amount, 0)
    or orders.discount_amount <> coalesce(line_totals.discount_amount, 0)
    or orders.vat_amount <> coalesce(line_totals.vat_amount, 0)
    or orders.order_net_amount <> coalesce(line_totals.order_net_amount, 0)
    or orders.order_gross_amount <> orders.order_net_amount + orders.vat_amount
    or orders.order_net_amount <> orders.merchandise_net_amount + orders.freight_line_amount
