{#-
    One row per order line of a retained order, with the order's context (application,
    currency, date, status), the SKU's product, manufacturer and primary category, and the
    unit cost where one is known. Amounts are in the order's currency, ex VAT.

    _extracted_at is the order's: lines arrive expanded with their order, so a changed line
    always comes with a re-extracted order (what the incremental facts select on).
-#}
with

lines as (

    select * from {{ ref('stg_norce__order_items') }}

),

orders as (

    select * from {{ ref('stg_norce__orders') }}

),

products as (

    select * from {{ ref('int_products_enriched') }}

),

sku_costs as (

    select * from {{ ref('int_sku_costs') }}

),

currencies as (

    select * from {{ ref('stg_norce__currencies') }}

),

joined as (

    select
        -- ids
        lines.order_line_id,
        lines.order_id,
        lines.line_number,
        lines.parent_line_number,

        -- order context
        orders.application_id,
        orders.currency_id,
        orders.ordered_at,
        orders.order_date,
        orders.order_month,
        orders.status_id,
        orders.is_cancelled,
        orders.is_returned,

        -- article
        lines.part_no,
        lines.is_freight,
        products.product_id,
        coalesce(products.product_name, lines.product_name) as product_name,
        products.manufacturer_id,
        products.manufacturer_name,
        products.primary_category_id,
        products.primary_category_name,

        -- quantities and amounts (order currency, ex VAT)
        lines.quantity,
        lines.unit_price,
        {{ money_product('lines.quantity', 'lines.unit_price') }} as gross_amount,
        lines.discount_amount,
        lines.line_amount as net_amount,
        lines.vat_rate,
        {{ percent_of('lines.line_amount', 'lines.vat_rate') }} as vat_amount,

        -- cost: the line's own, else the application's price lists (via EUR)
        coalesce(
            lines.unit_cost,
            {{ convert('sku_costs.unit_cost_eur', '(1 / nullif(currencies.exchange_rate_to_eur, 0))') }}
        ) as unit_cost,
        case
            when lines.unit_cost is not null then 'order_line'
            when sku_costs.unit_cost_eur is not null then sku_costs.cost_source
        end as cost_source,

        orders._extracted_at

    from lines
    inner join orders
        on lines.order_id = orders.order_id
    left join products
        on lines.part_no = products.part_no
    left join currencies
        on orders.currency_id = currencies.currency_id
    left join sku_costs
        on orders.application_id = sku_costs.application_id
        and lines.part_no = sku_costs.part_no
        and not lines.is_freight

),

final as (

    select
        *,
        {{ money_product('quantity', 'unit_cost') }} as cost_amount
    from joined

)

select * from final
