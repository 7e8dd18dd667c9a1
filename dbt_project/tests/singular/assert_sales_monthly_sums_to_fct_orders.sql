-- Money identity: mart_sales_monthly adds up to fct_orders per month x application x
-- currency, for every count and every measure in both currencies. Returns one row per
-- group that disagrees.

{%- set measures = ['units', 'returned_units'] -%}
{%- for m in sales_measures() -%}
    {%- do measures.append(m) -%}
    {%- do measures.append(m ~ '_rc') -%}
{%- endfor %}

with

facts as (

    select
        order_month,
        application_id,
        currency_id,
        count(*) filter (where not is_cancelled) as orders,
        count(*) filter (where is_cancelled) as cancelled_orders,
        count(*) filter (where is_first_order) as first_orders,
        {%- for measure in measures %}
        sum({{ measure }}) as {{ measure }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('fct_orders') }}
    group by all

),

mart as (

    select
        order_month,
        application_id,
        currency_id,
        sum(orders) as orders,
        sum(cancelled_orders) as cancelled_orders,
        sum(first_orders) as first_orders,
        {%- for measure in measures %}
        sum({{ measure }}) as {{ measure }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('mart_sales_monthly') }}
    group by all

)

select
    coalesce(facts.order_month, mart.order_month) as order_month,
    coalesce(facts.application_id, mart.application_id) as application_id,
    coalesce(facts.currency_id, mart.currency_id) as currency_id,
    facts.net_revenue as fct_net_revenue,
    mart.net_revenue as mart_net_revenue
from facts
full outer join mart
    on facts.order_month = mart.order_month
    and facts.application_id is not distinct from mart.application_id
    and facts.currency_id is not distinct from mart.currency_id
where facts.orders is distinct from mart.orders
    or facts.cancelled_orders is distinct from mart.cancelled_orders
    or facts.first_orders is distinct from mart.first_orders
    {%- for measure in measures %}
    or facts.{{ measure }} is distinct from mart.{{ measure }}
    {%- endfor %}
