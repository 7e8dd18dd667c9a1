{#-
    One row per customer (customer_key) as of as_of_date: every buyer of an order placed by
    then, guest or registered, and every customer registered by then, ordered or not.
    Lifetime figures count orders that are not cancelled, placed up to the end of
    as_of_date (UTC); with var as_of_date unset that is all of them, and as_of_date is the
    latest order day. Revenue is net (ex VAT) in the reporting currency.

    Incremental by customer: a build deletes and rebuilds the customers of the orders that
    changed and those whose registration changed; every customer on a first build, a
    --full-refresh, a rebuild of the facts, a change of this code or of var
    lapsed_after_days, or a new as-of day. See macros/customers.sql.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=["{{ customers_take() }}"],
        post_hook=["{{ customers_done() }}"],
    )
}}
{%- set rebuilds_all = customers_rebuild_all() %}
{%- set pending -%}
    {%- if rebuilds_all %}
    -- every customer: {{ rebuilds_all }}
    {%- else %}
        and {{ pending_keys_filter('customers', ['customer_key']) }}
    {%- endif %}
{%- endset %}
with

orders as (

    select * from {{ ref('fct_orders') }}
    where {{ as_of_filter('ordered_at') }}
    {{- pending }}

),

registered as (

    select * from ({{ customers_registered() }})
    where true
    {{- pending }}

),

history as (

    select
        customer_key,
        count(*) filter (where not is_cancelled) as lifetime_orders,
        count(*) filter (where is_cancelled) as lifetime_cancelled_orders,
        min(ordered_at) filter (where not is_cancelled) as first_ordered_at,
        max(ordered_at) filter (where not is_cancelled) as last_ordered_at,
        min(order_date) filter (where not is_cancelled) as first_order_date,
        max(order_date) filter (where not is_cancelled) as last_order_date,
        {{ money('coalesce(sum(units), 0)') }} as lifetime_units,
        {{ money('coalesce(sum(net_revenue_rc), 0)') }} as lifetime_net_revenue_rc,
        {{ money('coalesce(sum(order_total_incl_vat_rc), 0)') }} as lifetime_total_incl_vat_rc,
        max(buyer_customer_id) as buyer_customer_id,
        -- The first and the latest non-cancelled order, ties broken by order id: one
        -- aggregate pass (1.0 s at 1.2M orders, against 1.3 to 2.1 s for two row_number()
        -- windows that sorted every order).
        arg_min(
            {'order_id': order_id, 'application_id': application_id, 'country_id': country_id},
            {'ordered_at': ordered_at, 'order_id': order_id}
        ) filter (where not is_cancelled) as first_order,
        arg_max(
            {'order_id': order_id, 'country_id': country_id},
            {'ordered_at': ordered_at, 'order_id': order_id}
        ) filter (where not is_cancelled) as last_order
    from orders
    group by customer_key

),

customer_keys as (

    select customer_key from history
    union
    select customer_key from registered

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

joined as (

    select
        customer_keys.customer_key,
        coalesce(registered.customer_id, history.buyer_customer_id) as customer_id,
        registered.customer_key is not null
            or history.buyer_customer_id is not null as is_registered,
        coalesce(registered.registered_accounts, 0) as registered_accounts,
        registered.registered_at,

        history.first_order.order_id as first_order_id,
        history.first_ordered_at,
        history.first_order_date,
        {{ utc_month('history.first_ordered_at') }} as cohort_month,
        history.first_order.application_id as first_application_id,
        history.first_order.country_id as first_country_id,
        history.last_order.order_id as last_order_id,
        history.last_ordered_at,
        history.last_order_date,
        history.last_order.country_id as last_country_id,

        coalesce(history.lifetime_orders, 0) as lifetime_orders,
        coalesce(history.lifetime_cancelled_orders, 0) as lifetime_cancelled_orders,
        coalesce(history.lifetime_units, 0) as lifetime_units,
        coalesce(history.lifetime_net_revenue_rc, 0) as lifetime_net_revenue_rc,
        coalesce(history.lifetime_total_incl_vat_rc, 0) as lifetime_total_incl_vat_rc,
        cast(
            history.lifetime_net_revenue_rc / nullif(history.lifetime_orders, 0)
            as decimal(18, 4)
        ) as average_order_value_rc,
        as_of.as_of_date,
        as_of.as_of_date - history.last_order_date as days_since_last_order
    from customer_keys
    cross join as_of
    left join registered
        on customer_keys.customer_key = registered.customer_key
    left join history
        on customer_keys.customer_key = history.customer_key

),

final as (

    select
        *,
        {{ customer_segment('lifetime_orders', 'days_since_last_order') }} as customer_segment
    from joined

)

select * from final
