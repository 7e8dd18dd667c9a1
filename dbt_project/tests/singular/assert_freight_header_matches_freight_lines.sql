{{ config(severity='warn') }}
-- Freight is both an order line (PartNo 'FREIGHT') and the header FreightCost; they are
-- expected to agree. A tenant that books freight differently only gets a warning:
-- order_net_amount (from the lines) stays the revenue figure either way.

select
    order_id,
    freight_amount,
    freight_line_amount
from {{ ref('fct_orders') }}
where freight_amount <> freight_line_amount
