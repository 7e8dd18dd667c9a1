-- Money identity: every additive measure of each order in fct_orders equals the sum of
-- its lines in fct_order_lines (exact decimals), and no order or line is orphaned.
-- Returns one row per order that disagrees. Checks the orders whose order or lines were
-- loaded since the last build (every order on a whole-table pass, see test_scope.sql).

with

scoped as (

    select order_id from {{ ref('fct_orders') }}
    where _extracted_at >= {{ test_scope_since() }}
    union
    select order_id from {{ ref('fct_order_lines') }}
    where _extracted_at >= {{ test_scope_since() }}

),

orders as (

    select * from {{ ref('fct_orders') }}
    where order_id in (select order_id from scoped)

),

line_totals as (

    select
        order_id,
        count(*) as line_count,
        {%- for measure in order_line_measures() %}
        sum({{ measure }}) as {{ measure }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('fct_order_lines') }}
    where order_id in (select order_id from scoped)
    group by order_id

)

select
    coalesce(orders.order_id, line_totals.order_id) as order_id,
    orders.net_revenue,
    line_totals.net_revenue as lines_net_revenue
from orders
full outer join line_totals
    on orders.order_id = line_totals.order_id
where
    -- an order without lines is legitimate (all amounts 0); lines without an order are not
    orders.order_id is null
    or orders.line_count <> coalesce(line_totals.line_count, 0)
    {%- for measure in order_line_measures() %}
    or orders.{{ measure }} <> coalesce(line_totals.{{ measure }}, 0)
    {%- endfor %}
