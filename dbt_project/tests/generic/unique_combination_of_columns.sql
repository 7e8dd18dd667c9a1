{#- Fails for every combination of `combination_of_columns` that occurs more than once
    (the grain of a table keyed by several columns). On a staging view of a scheduled
    build, the combinations of the rows loaded since the last build (test_scope_keys). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
where true
    {{- test_scope_keys(model, combination_of_columns) }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
