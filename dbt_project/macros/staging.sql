{#-
    Helpers for the staging layer: read a raw table the way the loader may have left it.

    The raw layer follows each tenant's $metadata, so a property the tenant does not declare
    is simply not a column, a Reporting set that answers 500 may never become a table, and
    rows found deleted at the source carry _deleted_at. Staging models therefore name the
    columns they need (never `select *`), and these macros make each of those cases a typed
    NULL or an empty relation instead of a failed build.
-#}

{% macro raw_relation_columns(relation) %}
    {#- Lower-cased column names of `relation`, or none when it does not exist.
        Only at execution: while parsing there is no database to ask. -#}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set existing = load_relation(relation) -%}
    {%- if existing is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(existing) -%}
        {%- do names.append(column.name | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}


{% macro norce_source(table_name, columns, source_name='norce') %}
    {#- Typed projection of raw table `table_name` (source `source_name`).

        Args:
            columns: mapping of raw column name (PascalCase, as loaded) to SQL type. Each is
                cast to that type; one the table lacks comes out as a typed NULL.

        Always adds _load_id and _extracted_at; leaves out rows whose _deleted_at is set.
        A table that does not exist yields zero rows with the same columns. -#}
    {%- set relation = source(source_name, table_name) -%}
    {%- set present = raw_relation_columns(relation) -%}
    {%- set all_columns = dict(columns) -%}
    {%- do all_columns.update({'_load_id': 'varchar', '_extracted_at': 'timestamptz'}) -%}
    select
    {%- for name, sql_type in all_columns.items() %}
        {% if present is not none and (not execute or name | lower in present) -%}
            cast({{ adapter.quote(name) }} as {{ sql_type }})
        {%- else -%}
            cast(null as {{ sql_type }})
        {%- endif %} as {{ adapter.quote(name) }}{{ "," if not loop.last }}
    {%- endfor %}
    {% if present is none %}
    -- {{ relation }} does not exist (never loaded on this tenant): an empty relation
    from (select 1) as missing_table
    where false
    {%- else %}
    from {{ relation }}
        {%- if '_deleted_at' in present %}
    where "_deleted_at" is null
        {%- endif %}
    {%- endif %}
{% endmacro %}


{% macro not_erased(customer_id_column=none, email_hash_column=none) %}
    {#- A predicate that is false for rows of customers with an erasure request in
        meta.erasures (matched on customer id and/or buyer email hash). The loader purges
        forgotten rows from raw; this also covers data the source never flagged (for
        example a guest order placed with an erased customer's email address).

        Written as an uncorrelated `not in` (null-safe: a row without the id or hash is
        kept): a correlated `not exists` makes DuckDB compute the predicate for every row
        of the table before a later filter (a fact's candidate orders) can reach the scan,
        so each model reading the view paid for the whole table. -#}
    {%- set relation = source('loader', 'erasures') -%}
    {%- set present = raw_relation_columns(relation) -%}
    {%- if present is none -%}
        true
    {%- else -%}
        {%- set checks = [] -%}
        {%- for column, erased in [(customer_id_column, 'customer_id'), (email_hash_column, 'email_hash')]
            if column is not none -%}
            {%- do checks.append(
                '(' ~ column ~ ' is null or ' ~ column ~ ' not in (select ' ~ erased
                ~ ' from ' ~ relation ~ ' where ' ~ erased ~ ' is not null))'
            ) -%}
        {%- endfor -%}
        ({{ checks | join(' and ') }})
    {%- endif -%}
{% endmacro %}


{% macro utc_date(column) -%}
    {#- The UTC calendar day of a TIMESTAMPTZ, whatever the session time zone. -#}
    cast(timezone('UTC', {{ column }}) as date)
{%- endmacro %}


{% macro utc_month(column) -%}
    {#- First day of the UTC calendar month of a TIMESTAMPTZ. -#}
    cast(date_trunc('month', timezone('UTC', {{ column }})) as date)
{%- endmacro %}


{% macro is_freight(part_no_column) -%}
    {#- True for order lines that carry freight rather than merchandise. -#}
    coalesce(upper({{ part_no_column }}) in (
        {%- for part_no in var('freight_part_nos') -%}
            '{{ part_no | upper }}'{{ ", " if not loop.last }}
        {%- endfor -%}
    ), false)
{%- endmacro %}
