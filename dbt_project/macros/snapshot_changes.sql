{#-
    Snapshots that cost what changed.

    A check-strategy snapshot compares every source row with its current version; with
    hard deletes ignored (the default, and ours: the post-hooks remove forgotten and erased
    people), a source row equal to its current version leaves the snapshot as it is. So
    handing dbt only the rows that are new or differ in a checked column gives the same
    snapshot, and dbt's own staging, comparison and merge then cost what changed instead
    of what exists. One set-based pass still reads both sides (DuckDB joins a few hundred
    thousand rows in a fraction of a second).
-#}

{% macro snapshot_changed_rows(source_cte) -%}
    {#- The rows of CTE source_cte that are new or differ from their current version in the
        snapshot's check_cols (by its unique_key); every row on the first run. -#}
    {%- set current = load_relation(this) if execute else none -%}
    {%- set unique_key = config.get('unique_key') -%}
    {%- set check_cols = config.get('check_cols') or [] -%}
    select source.* from {{ source_cte }} as source
    {%- if current is not none %}
    left join {{ current }} as snap
        on snap.{{ unique_key }} = source.{{ unique_key }}
        and snap.dbt_valid_to is null
    where snap.{{ unique_key }} is null
        {%- for column in check_cols %}
        or source.{{ column }} is distinct from snap.{{ column }}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
