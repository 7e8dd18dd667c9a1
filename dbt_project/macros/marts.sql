{#- Helpers shared by the marts. -#}

{% macro as_of_date() -%}
    {#- The day the customer marts look from: var as_of_date, else the latest day with a
        non-cancelled order (so a rebuild of old data gives the same answer). -#}
    {%- if var('as_of_date') -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (
            select coalesce(max(order_date), current_date)
            from {{ ref('fct_orders') }}
            where not is_cancelled
        )
    {%- endif -%}
{%- endmacro %}


{% macro as_of_filter(timestamp_column) -%}
    {#- True for rows that existed by the end of var as_of_date (UTC); always true when the
        var is unset. Keeps later orders, returns and registrations out of an as-of view. -#}
    {%- if var('as_of_date') -%}
        {{ timestamp_column }} < cast(cast('{{ var("as_of_date") }}' as date) + 1 as timestamp)
            at time zone 'UTC'
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{% macro surrogate_key(columns) -%}
    {#- A stable text key over `columns` (NULL-safe), for grains made of several columns. -#}
    md5(concat_ws('|'
        {%- for column in columns -%}
        , coalesce(cast({{ column }} as varchar), '<null>')
        {%- endfor -%}
    ))
{%- endmacro %}


{% macro counted(condition, amount) -%}
    {#- `amount` where `condition` holds, else 0 of the same type: how a measure leaves out
        rows (cancelled orders, freight lines) while staying additive. -#}
    case when {{ condition }} then {{ amount }} else 0 end
{%- endmacro %}


{% macro order_line_measures() -%}
    {#- The additive measures of fct_order_lines that fct_orders sums per order. -#}
    {{ return([
        'units', 'returned_units',
        'merchandise_amount_before_discount', 'discount_amount', 'merchandise_revenue',
        'freight_revenue', 'net_revenue', 'vat_amount', 'returned_revenue',
        'net_revenue_after_returns', 'cost_amount', 'merchandise_revenue_with_cost',
        'margin_amount', 'cancelled_order_value',
        'merchandise_amount_before_discount_rc', 'discount_amount_rc', 'merchandise_revenue_rc',
        'freight_revenue_rc', 'net_revenue_rc', 'vat_amount_rc', 'returned_revenue_rc',
        'net_revenue_after_returns_rc', 'cost_amount_rc', 'merchandise_revenue_with_cost_rc',
        'margin_amount_rc', 'cancelled_order_value_rc',
    ]) }}
{%- endmacro %}


{% macro customer_segment(lifetime_orders, days_since_last_order) -%}
    {#- prospect (no order), lapsed (none in var lapsed_after_days), one_time, repeat (2-4
        orders), loyal (5+). -#}
    case
        when {{ lifetime_orders }} = 0 then 'prospect'
        when {{ days_since_last_order }} > {{ var('lapsed_after_days') }} then 'lapsed'
        when {{ lifetime_orders }} = 1 then 'one_time'
        when {{ lifetime_orders }} <= 4 then 'repeat'
        else 'loyal'
    end
{%- endmacro %}


{% macro sales_measures() -%}
    {#- The additive amounts the sales marts carry, in the order currency; the same names
        with _rc are in the reporting currency. units and returned_units come first. -#}
    {{ return([
        'merchandise_amount_before_discount', 'discount_amount', 'merchandise_revenue',
        'freight_revenue', 'net_revenue', 'fee_revenue', 'vat_amount', 'order_total_incl_vat',
        'returned_revenue', 'net_revenue_after_returns', 'cost_amount',
        'merchandise_revenue_with_cost', 'margin_amount', 'cancelled_order_value',
    ]) }}
{%- endmacro %}


{% macro sales_with_names(relation, period) -%}
    {#- The final select of the sales marts: `period` and the five dimension ids with
        today's names from the dimensions, then the measures of `relation` in order. -#}
select
    {%- if period == 'order_date' %}
    {{ relation }}.order_date,
    cast(date_trunc('month', {{ relation }}.order_date) as date) as order_month,
    {%- else %}
    {{ relation }}.order_month,
    {%- endif %}
    {{ relation }}.application_id,
    applications.application_name,
    {{ relation }}.country_id,
    countries.country_code,
    countries.country_name,
    {{ relation }}.currency_id,
    currencies.currency_code,
    {{ relation }}.payment_method_id,
    payment_methods.payment_method_name,
    {{ relation }}.delivery_method_id,
    delivery_methods.delivery_method_name,
    {{ relation }}.orders,
    {{ relation }}.cancelled_orders,
    {{ relation }}.first_orders,
    {{ relation }}.distinct_customers_nonadditive,
    {{ relation }}.units,
    {{ relation }}.returned_units,
    {%- for measure in sales_measures() %}
    {{ relation }}.{{ measure }},
    {%- endfor %}
    {{ relation }}.reporting_currency_code,
    {%- for measure in sales_measures() %}
    {{ relation }}.{{ measure }}_rc{{ "," if not loop.last }}
    {%- endfor %}
from {{ relation }}
left join {{ ref('dim_applications') }} as applications
    on {{ relation }}.application_id = applications.application_id
left join {{ ref('dim_countries') }} as countries
    on {{ relation }}.country_id = countries.country_id
left join {{ ref('dim_currencies') }} as currencies
    on {{ relation }}.currency_id = currencies.currency_id
left join {{ ref('dim_payment_methods') }} as payment_methods
    on {{ relation }}.payment_method_id = payment_methods.payment_method_id
left join {{ ref('dim_delivery_methods') }} as delivery_methods
    on {{ relation }}.delivery_method_id = delivery_methods.delivery_method_id
{%- endmacro %}


{% macro invoicing_measures() -%}
    {#- The additive measures of fct_invoices with an _rc twin (units have none). -#}
    {{ return([
        'invoiced_revenue', 'returned_revenue', 'invoiced_revenue_after_returns',
        'invoiced_vat_amount', 'invoiced_fee_revenue', 'invoiced_total_incl_vat',
        'returned_total_incl_vat',
    ]) }}
{%- endmacro %}
