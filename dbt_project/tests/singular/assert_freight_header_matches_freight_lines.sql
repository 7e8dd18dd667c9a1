{{ config(severity='warn') }}
-- Freight is both an order line (PartNo 'FREIGHT') and the header FreightCost; they are
-- expected to agree. A tenant that books freight differently only gets a warning:
-- freight_revenue (from the lines) stays the measure either way. Checks the orders loaded
-- since the last build (every order on a whole-table pass, see test_scope.sql).

with

freight_lines as (

    select order_id, sum(line_amount) as freight_line_amount
    from {{ ref('stg_norce__order_items') }}
    where {{ is_freight('part_no') }}
        and order_id in (
            select order_id from {{ ref('stg_norce__orders') }}
            where _extracted_at >= {{ test_scope_since() }}
        )
    group by order_id

)

select
    orders.order_id,
    orders.freight_amount as header_freight_amount,
    coalesce(freight_lines.freight_line_amount, 0) as freight_line_amount
from {{ ref('stg_norce__orders') }} as orders
left join freight_lines
    on orders.order_id = freight_lines.order_id
where orders._extracted_at >= {{ test_scope_since() }}
    and coalesce(orders.freight_amount, 0) <> coalesce(freight_lines.freight_line_amount, 0)
