{#-
    Unit cost of each SKU on each price list over time, as each application would use it:
    one row per application x price row x version of that row (snapshot snap_sku_prices)
    that carries a cost.

    Norce keeps cost on price rows (CostUnit, else CostPurchase; 0 = not populated), in
    the price list's currency. A version is in force from effective_from (the source's
    Updated where it dates the change, else when a run first saw it) to effective_to, the
    earliest effective_from of the row's later versions (a change dated before the one
    before it leaves that one no period); the first version of a row also covers
    everything before it, since nothing older is known.
    The preference columns rank the rows for an application (int_order_line_costs picks):
    its own price lists first, its primary one first, active rows, the lowest quantity
    break, the lowest price list id.
-#}
with

versions as (

    select
        *,
        row_number() over (partition by price_row_key order by dbt_valid_from) as version_number,
        -- the earliest start of any later version: a later version dated before an
        -- earlier one (a backdated change) ends that one too, so that no two versions
        -- of a price row are ever in force at once
        min(coalesce(changed_at, dbt_valid_from)) over (
            partition by price_row_key order by dbt_valid_from
            rows between 1 following and unbounded following
        ) as next_effective_from
    from {{ ref('snap_sku_prices') }}

),

applications as (

    select application_id from {{ ref('stg_norce__applications') }}

),

application_price_lists as (

    select * from {{ ref('stg_norce__application_price_lists') }}

),

costed as (

    select
        part_no,
        price_list_id,
        quantity_break,
        currency_id,
        is_active,
        coalesce(unit_cost, unit_cost_purchase) as unit_cost,
        case
            when unit_cost is not null then 'price_list_cost_unit'
            else 'price_list_cost_purchase'
        end as cost_source,
        case
            when version_number = 1 then '-infinity'::timestamptz
            else coalesce(changed_at, dbt_valid_from)
        end as effective_from,
        coalesce(next_effective_from, 'infinity'::timestamptz) as effective_to
    from versions
    where coalesce(unit_cost, unit_cost_purchase) is not null

)

select
    applications.application_id,
    costed.part_no,
    costed.price_list_id,
    costed.quantity_break,
    costed.currency_id,
    costed.unit_cost,
    costed.cost_source,
    costed.effective_from,
    costed.effective_to,
    application_price_lists.price_list_id is not null as is_application_price_list,
    coalesce(application_price_lists.is_primary, false) as is_primary_price_list,
    costed.is_active
from costed
cross join applications
left join application_price_lists
    on application_price_lists.application_id = applications.application_id
    and application_price_lists.price_list_id = costed.price_list_id
