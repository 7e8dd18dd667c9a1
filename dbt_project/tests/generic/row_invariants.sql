{#- Fails for every row and rule where the rule's expression is false (NULL passes: use
    not_null for that): one query for all of a model's row-level invariants, each failure
    named by its rule.
        - row_invariants:
            arguments:
              rules:
                units_not_negative: "units >= 0"
                net_is_merchandise_plus_freight: "net_revenue = merchandise_revenue + freight_revenue" -#}
{% test row_invariants(model, rules) %}

{%- for name, expression in rules.items() %}
select '{{ name }}' as rule, *
from {{ model }}
where not ({{ expression }})
{{ "union all" if not loop.last }}
{%- endfor %}

{% endtest %}
