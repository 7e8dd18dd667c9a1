{#-
    Data tests that cost what the change costs.

    A model whose rows carry the time they were loaded says so in its yml:
        config:
          meta:
            test_scope: _extracted_at
    and its data tests then check only the rows loaded since the bound the pipeline wrote
    into meta.dbt_test_scope before this build (flows/scoped_tests.py: the start of the last
    successful build). Key checks (unique, unique_combination_of_columns) need the old
    rows to see a duplicate: on a staging view (whose every row the loader stamps when it
    writes it) they check the keys of the rows loaded since the bound against every row;
    on the models dbt builds, which rewrite rows for other reasons than a load (a rate, a
    cost), they stay whole. A full refresh, the first build, the periodic
    whole-table pass (NORCE_FULL_TESTS_EVERY_H) and any `dbt build` run by hand find no
    bound and test every row. A test's own `where` can use the bound too
    (`__test_scope_since__`), and singular tests call test_scope_since(). `__as_of_end__` in
    a test's `where` is the end of var as_of_date (infinity when it is unset).
-#}

{% macro test_scope_since() -%}
    {#- The bound as a literal, read when the test runs: DuckDB skips the row groups a
        constant bound excludes (their _extracted_at range), where a subquery's bound
        would make it read every row of the table to filter it. The pipeline writes the
        bound before the build and removes it after, so it is the same for every test. -#}
    timestamptz '{{ _test_scope_bound() or '-infinity' }}'
{%- endmacro %}


{% macro _test_scope_bound() -%}
    {#- The bound of this build's scoped tests as text, or none: every row is tested. -#}
    {%- if not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set found = run_query(
        "select cast(max(since) as varchar) from meta.dbt_test_scope"
    ) -%}
    {%- do return(found.rows[0][0]) -%}
{%- endmacro %}


{% macro test_scope_keys(model, columns) -%}
    {#- For a key check: `and (<columns>) in (<the keys of the rows loaded since the
        bound>)` on a staging view that declares a test scope, when the build has a bound;
        nothing otherwise (every key is checked). A duplicate that involves a row loaded
        since is found, whatever the other row's age; one between older rows was checked
        by the build that loaded them, and again by the whole-table pass. -#}
    {%- set attached = model_node_of_test() -%}
    {%- set column = attached and attached.fqn[1] == 'staging'
        and attached.config.meta.get('test_scope') -%}
    {%- set bound = _test_scope_bound() if column else none -%}
    {%- if bound -%}
        {%- set keys = columns | join(', ') %}
    and ({{ keys }}) in (
        select {{ keys }} from {{ model }}
        where {{ column }} >= timestamptz '{{ bound }}'
    )
    {%- endif -%}
{%- endmacro %}


{% macro model_node_of_test() -%}
    {#- The node a generic test is attached to, or none. -#}
    {%- set attached = model.get('attached_node') if execute else none -%}
    {%- do return(graph.nodes.get(attached) if attached else none) -%}
{%- endmacro %}


{% macro default__test_unique(model, column_name) -%}
    {#- dbt's unique test, with the key scope of test_scope_keys. -#}
select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
    {{- test_scope_keys(model, [column_name]) }}
group by {{ column_name }}
having count(*) > 1
{%- endmacro %}


{% macro test_as_of_end() -%}
    {#- The end of var as_of_date (UTC), for a test's `where` (`__as_of_end__`): rows that
        an as-of build counts are before it. Infinity when the var is unset. -#}
    {%- if var('as_of_date') -%}
        (cast(cast('{{ var("as_of_date") }}' as date) + 1 as timestamp) at time zone 'UTC')
    {%- else -%}
        'infinity'::timestamptz
    {%- endif -%}
{%- endmacro %}


{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__test_scope_since__', test_scope_since())
            | replace('__as_of_end__', test_as_of_end()) -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set column = _test_scope_column() -%}
    {%- if column -%}
        {%- do conditions.append(column ~ ' >= ' ~ test_scope_since()) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{% macro _test_scope_column() -%}
    {#- The tested model's meta.test_scope column, unless this test checks keys
        (test_scope_keys scopes those). -#}
    {%- set test_name = (model.get('test_metadata') or {}).get('name', '') -%}
    {%- set node = model_node_of_test() -%}
    {%- if not node or test_name in ('unique', 'unique_combination_of_columns') -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- do return(node.config.meta.get('test_scope')) -%}
{%- endmacro %}
