{#-
    Data tests that cost what the change costs.

    A model whose rows carry the time they were loaded says so in its yml:
        config:
          meta:
            test_scope: _extracted_at
    and its data tests then check only the rows loaded since the bound the pipeline wrote
    into meta.dbt_test_scope before this build (flows/scoped_tests.py: the start of the last
    successful build). Key checks (unique, unique_combination_of_columns) stay whole: a
    duplicate needs the old rows to be seen. A full refresh, the first build, the periodic
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
    {%- if execute -%}
        {%- set found = run_query(
            "select coalesce(cast(max(since) as varchar), '-infinity') from meta.dbt_test_scope"
        ) -%}
        timestamptz '{{ found.rows[0][0] }}'
    {%- else -%}
        timestamptz '-infinity'
    {%- endif -%}
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
    {#- The tested model's meta.test_scope column, unless this test checks keys. -#}
    {%- set test_name = (model.get('test_metadata') or {}).get('name', '') -%}
    {%- set attached = model.get('attached_node') -%}
    {%- if not execute or not attached or test_name in ('unique', 'unique_combination_of_columns') -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set node = graph.nodes.get(attached) -%}
    {%- do return(node and node.config.meta.get('test_scope')) -%}
{%- endmacro %}
