{#-
    Fails for every row where `expression` is false (a NULL result passes: use not_null for
    that). With column_name, the expression is appended to the column:
        - expression_is_true: {arguments: {expression: ">= 0"}}   # on a column
    Use the test's `where` config to limit the rows checked.
-#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not (
    {%- if column_name is not none %} {{ column_name }}{% endif %} {{ expression }}
)

{% endtest %}
