{#-
    Data tests that cost what the change costs.

    A data test on a large table may say `where: "_extracted_at >= __test_scope_since__"`:
    the placeholder becomes the bound the pipeline wrote into meta.dbt_test_scope before
    this build (flows/test_scope.py): the start of the last successful build, so a
    scheduled run tests the rows loaded since; a full refresh, the first build, the daily
    whole-table pass (NORCE_FULL_TESTS_EVERY_H) and any `dbt build` run by hand find no
    bound and test every row. Singular tests use test_scope_since() the same way.
-#}

{% macro test_scope_since() -%}
    (select coalesce(max(since), '-infinity'::timestamptz) from meta.dbt_test_scope)
{%- endmacro %}


{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__test_scope_since__', test_scope_since()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
