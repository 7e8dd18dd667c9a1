{#-
    Marts rebuilt by key: the keys to rebuild wait in a table until a build of the mart takes
    them.

    A mart that aggregates the facts by some key (a SKU and month, a customer) changes only
    where the facts' candidates were and are. Its keys wait in meta.<name>_pending (one
    column per key column); a row of nulls means every key. The facts add keys in their own
    transaction (remember_pending_keys, a pre-hook and a post-hook around the replace), the
    mart takes them in its own (a pre-hook deletes the pending keys' rows, the model inserts
    them anew, a post-hook empties the table), so a build that fails or leaves the mart out
    keeps them for the next one. meta.<name>_state says how the last build of the mart went:
    the checksum of its code, when, how many keys it rebuilt (<count_column>) and why it
    rebuilt every key (rebuild_reason, null when only the pending ones).

    Users: mart_product_performance (macros/product_performance.sql) and dim_customers
    (macros/customers.sql).
-#}

{% macro pending_keys_relation(name) -%}
    meta.{{ name }}_pending
{%- endmacro %}


{% macro pending_state_relation(name) -%}
    meta.{{ name }}_state
{%- endmacro %}


{% macro pending_keys_tables(name, key_columns, count_column) -%}
    {#- on-run-start: the pending keys (key_columns: name -> type) and the state. -#}
    create table if not exists {{ pending_keys_relation(name) }} (
        {%- for column, type in key_columns.items() %}
        {{ column }} {{ type }}{{ ',' if not loop.last }}
        {%- endfor %}
    );
    create table if not exists {{ pending_state_relation(name) }} (
        code_checksum varchar,
        built_at timestamptz,
        {{ count_column }} bigint,
        rebuild_reason varchar
    )
{%- endmacro %}


{% macro remember_pending_keys(name, key_columns, keys_of_candidates) -%}
    {#- A hook of a fact (pre and post): the keys its candidates' rows have now in the table
        (query keys_of_candidates, which reads {{ this }}), those not pending already. Every
        key (a row of nulls) when the facts derive every order or the table is new. -#}
    {%- set candidates = ref('int_fact_candidates') -%}
    {%- set every_key -%}
        select {% for column in key_columns %}null{{ ', ' if not loop.last }}{% endfor %}
    {%- endset -%}
    insert into {{ pending_keys_relation(name) }}
    {%- if is_incremental() %}
    {{ keys_of_candidates }}
    union
    {{ every_key }}
    where exists (select 1 from {{ candidates }} where is_every_order)
    {%- else %}
    {{ every_key }}
    {%- endif %}
    -- each key once, however many builds leave the mart out
    except
    select {{ key_columns | join(', ') }} from {{ pending_keys_relation(name) }}
{%- endmacro %}


{% macro candidate_orders() -%}
    {#- The orders the facts replace in this build, for a keys_of_candidates query. -#}
    (select order_id from {{ ref('int_fact_candidates') }} where not is_every_order)
{%- endmacro %}


{% macro pending_keys_fingerprint(settings='') -%}
    {#- What the mart's rows are made by: its code and the settings it names. -#}
    {{ return(model.checksum.checksum ~ (':' ~ settings if settings else '')) }}
{%- endmacro %}


{% macro pending_keys_rebuild_all(
    name, key_columns, settings='', every_key='the facts were rebuilt whole', incremental=none
) -%}
    {#- Why the mart rebuilds every key ('' when it rebuilds only the pending ones): a first
        build or --full-refresh, a compile outside a build, a row of nulls (reason
        every_key), its code or the settings it names. incremental: whether the mart holds
        rows to keep (default: is_incremental()). -#}
    {%- if not execute or this is none -%}
        {{ return('parsing') }}
    {%- endif -%}
    {%- if not (is_incremental() if incremental is none else incremental) -%}
        {{ return('a first build or --full-refresh') }}
    {%- endif -%}
    {%- for relation in [pending_keys_relation(name), pending_state_relation(name)] -%}
        {%- set identifier = relation.split('.')[-1] -%}
        {%- if adapter.get_relation(database=this.database, schema='meta', identifier=identifier) is none -%}
            {#- a compile outside a build (on-run-start creates them) -#}
            {{ return('no state of a previous build') }}
        {%- endif -%}
    {%- endfor -%}
    {%- set any_null = [] -%}
    {%- for column in key_columns -%}
        {%- do any_null.append(column ~ ' is null') -%}
    {%- endfor -%}
    {%- set found = run_query(
        "select (select count(*) from " ~ pending_keys_relation(name)
        ~ " where " ~ any_null | join(' or ') ~ "),"
        ~ " (select max(code_checksum) from " ~ pending_state_relation(name) ~ ")"
    ) -%}
    {%- if found.rows[0][0] > 0 -%}
        {{ return(every_key) }}
    {%- endif -%}
    {%- if found.rows[0][1] != pending_keys_fingerprint(settings) -%}
        {{ return('its code changed') }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{% macro pending_keys_begin(name, reason, settings='') -%}
    {#- Pre-hook part: note how the mart rebuilds, and empty it when it rebuilds every key. -#}
    delete from {{ pending_state_relation(name) }};
    insert into {{ pending_state_relation(name) }}
    values ('{{ pending_keys_fingerprint(settings) }}', now(), null, {{ "'" ~ reason ~ "'" if reason else 'null' }})
    {%- if is_incremental() and reason %};
    delete from {{ this }}
    {%- endif -%}
{%- endmacro %}


{% macro pending_keys_delete(name, key_columns) -%}
    {#- Pre-hook part: delete the pending keys' rows from the mart. -#}
    delete from {{ this }} as stored
    using (
        select distinct {{ key_columns | join(', ') }} from {{ pending_keys_relation(name) }}
    ) as pending
    where {% for column in key_columns -%}
        stored.{{ column }} = pending.{{ column }}{{ ' and ' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{% macro pending_keys_filter(name, key_columns) -%}
    {#- The model's filter: rows of the pending keys. -#}
    ({{ key_columns | join(', ') }}) in (
        select distinct {{ key_columns | join(', ') }} from {{ pending_keys_relation(name) }}
    )
{%- endmacro %}


{% macro pending_keys_done(name, key_columns, count_column) -%}
    {#- Post-hook of the mart, in its transaction: count the keys it rebuilt; nothing is
        pending any more. -#}
    update {{ pending_state_relation(name) }}
    set {{ count_column }} = case
        when rebuild_reason is null then (
            select count(*) from (
                select distinct {{ key_columns | join(', ') }} from {{ pending_keys_relation(name) }}
            )
        )
        else (select count(*) from {{ this }})
    end;
    delete from {{ pending_keys_relation(name) }}
{%- endmacro %}
