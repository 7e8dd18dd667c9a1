{#-
    Unit cost of each SKU as each application buys it, in EUR: one row per application x
    SKU for which any price list carries a cost.

    Norce keeps cost on price rows (CostUnit, else CostPurchase; 0 = not populated). An
    application's own price lists win (primary first), then any client price list, then the
    lowest quantity break; amounts go through the EUR rate card so the price list's currency
    does not have to match the order's.
-#}
with

price_rows as (

    select * from {{ ref('stg_norce__product_sku_price_lists') }}
    where coalesce(unit_cost, unit_cost_purchase) is not null

),

currencies as (

    select * from {{ ref('stg_norce__currencies') }}

),

applications as (

    select * from {{ ref('stg_norce__applications') }}

),

application_price_lists as (

    select * from {{ ref('stg_norce__application_price_lists') }}

),

costs_in_eur as (

    select
        price_rows.part_no,
        price_rows.price_list_id,
        price_rows.quantity_break,
        price_rows.is_active,
        coalesce(price_rows.unit_cost, price_rows.unit_cost_purchase)
            * currencies.exchange_rate_to_eur as unit_cost_eur,
        case
            when price_rows.unit_cost is not null then 'price_list_cost_unit'
            else 'price_list_cost_purchase'
        end as cost_source
    from price_rows
    inner join currencies
        on price_rows.currency_id = currencies.currency_id

),

ranked as (

    select
        applications.application_id,
        costs_in_eur.part_no,
        costs_in_eur.price_list_id,
        costs_in_eur.unit_cost_eur,
        costs_in_eur.cost_source,
        row_number() over (
            partition by applications.application_id, costs_in_eur.part_no
            order by
                application_price_lists.price_list_id is not null desc,
                application_price_lists.is_primary desc nulls last,
                costs_in_eur.is_active desc,
                costs_in_eur.quantity_break,
                costs_in_eur.price_list_id
        ) as preference
    from costs_in_eur
    cross join applications
    left join application_price_lists
        on application_price_lists.application_id = applications.application_id
        and application_price_lists.price_list_id = costs_in_eur.price_list_id

)

select
    application_id,
    part_no,
    price_list_id,
    cast(unit_cost_eur as decimal(18, 6)) as unit_cost_eur,
    cost_source
from ranked
where preference = 1
