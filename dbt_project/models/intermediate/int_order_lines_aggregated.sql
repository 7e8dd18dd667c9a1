{#-
    Order-line amounts rolled up to one row per order (order currency, ex VAT unless named).
    Freight is an ordinary line (PartNo 'FREIGHT'): it counts in the order's net amount but
    not in merchandise.
-#}
with

lines as (

    select * from {{ ref('int_order_lines_enriched') }}

),

aggregated as (

    select
        order_id,
        count(*) as line_count,
        count(*) filter (where not is_freight) as merchandise_line_count,
        {{ money('coalesce(sum(quantity) filter (where not is_freight), 0)') }} as item_quantity,
        {{ money('coalesce(sum(gross_amount) filter (where not is_freight), 0)') }}
            as merchandise_gross_amount,
        {{ money('coalesce(sum(net_amount) filter (where not is_freight), 0)') }}
            as merchandise_net_amount,
        {{ money('coalesce(sum(net_amount) filter (where is_freight), 0)') }} as freight_line_amount,
        {{ money('sum(discount_amount)') }} as discount_amount,
        {{ money('sum(vat_amount)') }} as vat_amount,
        {{ money('sum(net_amount)') }} as order_net_amount,
        {{ money('sum(cost_amount) filter (where not is_freight)') }} as known_cost_amount,
        count(*) filter (where not is_freight and unit_cost is null) as lines_without_cost
    from lines
    group by order_id

)

select * from aggregated
