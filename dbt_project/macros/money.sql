{#-
    Money arithmetic. Source amounts are DECIMAL(18,4) in the order's currency and stay exact:
    products are widened first (DuckDB keeps the operands' precision in a product, which
    could overflow), and division, which DuckDB does in DOUBLE, is avoided. Converted
    amounts are rounded to 4 decimals (the rate card makes them approximate anyway).
-#}

{% macro money(expression) -%}
    cast(round({{ expression }}, 4) as decimal(18, 4))
{%- endmacro %}


{% macro money_product(left, right) -%}
    {#- left x right, exact, as DECIMAL(18,4). -#}
    {{ money('cast(' ~ left ~ ' as decimal(38, 10)) * ' ~ right) }}
{%- endmacro %}


{% macro percent_of(amount, percent) -%}
    {#- amount x percent / 100, exact, as DECIMAL(18,4) (e.g. VAT from a line and its rate). -#}
    {{ money('cast(' ~ amount ~ ' as decimal(38, 10)) * ' ~ percent ~ ' * 0.01') }}
{%- endmacro %}


{% macro convert(amount, factor) -%}
    {#- amount x factor (a DOUBLE conversion factor), rounded to DECIMAL(18,4). -#}
    {{ money(amount ~ ' * ' ~ factor) }}
{%- endmacro %}
