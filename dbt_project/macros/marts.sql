{#- Helpers shared by the marts. -#}

{% macro as_of_date() -%}
    {#- The day recency is measured from: var as_of_date, else the latest day with a
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


{% macro surrogate_key(columns) -%}
    {#- A stable text key over `columns` (NULL-safe), for grains made of several columns. -#}
    md5(concat_ws('|'
        {%- for column in columns -%}
        , coalesce(cast({{ column }} as varchar), '<null>')
        {%- endfor -%}
    ))
{%- endmacro %}
