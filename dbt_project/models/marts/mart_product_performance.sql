{#-
    Product performance per SKU x UTC month of order: merchandise lines of orders that are
    not cancelled, in the revenue vocabulary (reporting currency): units and returned
    units, revenue before and after discounts and returns, and margin where a cost is
    known (the line's CostUnit, else the price-list cost in force when ordered). Names,
    brand and category are today's, from dim_products.

    Incremental by group: a build deletes and rebuilds the groups the changed orders were
    and are in, and those of SKUs whose product attributes changed; every group on a first
    build, a --full-refresh, a rebuild of the facts or a change of this code. See
    macros/product_performance.sql.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=["{{ product_performance_take_groups() }}"],
        post_hook=["{{ product_performance_done() }}"],
    )
}}
{%- set rebuilds_all = product_performance_rebuilds_all() %}
with

lines as (

    {{ product_performance_lines(ref('fct_order_lines')) }}
    {%- if rebuilds_all %}
    -- every group: {{ rebuilds_all }}
    {%- else %}
        and {{ pending_keys_filter('product_performance', ['order_month', 'part_no']) }}
    {%- endif %}

),

products as (

    select * from {{ ref('dim_products') }}

),

aggregated as (

    select
        order_month,
        part_no,
        count(distinct order_id) as orders_with_sku_nonadditive,
        {{ money('sum(units)') }} as units,
        {{ money('sum(returned_units)') }} as returned_units,
        {{ money('sum(merchandise_amount_before_discount_rc)') }}
            as merchandise_amount_before_discount_rc,
        {{ money('sum(discount_amount_rc)') }} as discount_amount_rc,
        {{ money('sum(merchandise_revenue_rc)') }} as merchandise_revenue_rc,
        {{ money('sum(returned_revenue_rc)') }} as returned_merchandise_revenue_rc,
        {{ money('sum(merchandise_revenue_rc) - sum(returned_revenue_rc)') }}
            as merchandise_revenue_after_returns_rc,
        {{ money('sum(cost_amount_rc)') }} as cost_amount_rc,
        {{ money('sum(merchandise_revenue_with_cost_rc)') }} as merchandise_revenue_with_cost_rc,
        {{ money('sum(margin_amount_rc)') }} as margin_amount_rc,
        any_value(reporting_currency_code) as reporting_currency_code
    from lines
    group by order_month, part_no

),

final as (

    select
        aggregated.order_month,
        aggregated.part_no,
        products.product_id,
        products.product_name,
        products.manufacturer_id,
        products.manufacturer_name,
        products.primary_category_id,
        products.primary_category_name,
        aggregated.orders_with_sku_nonadditive,
        aggregated.units,
        aggregated.returned_units,
        aggregated.returned_units / nullif(aggregated.units, 0) as return_rate,
        aggregated.reporting_currency_code,
        aggregated.merchandise_amount_before_discount_rc,
        aggregated.discount_amount_rc,
        aggregated.merchandise_revenue_rc,
        aggregated.returned_merchandise_revenue_rc,
        aggregated.merchandise_revenue_after_returns_rc,
        aggregated.cost_amount_rc,
        aggregated.merchandise_revenue_with_cost_rc,
        aggregated.margin_amount_rc,
        case
            when aggregated.merchandise_revenue_with_cost_rc <> 0
                then aggregated.margin_amount_rc / aggregated.merchandise_revenue_with_cost_rc
        end as margin_rate
    from aggregated
    left join products
        on aggregated.part_no = products.part_no

)

select * from final
