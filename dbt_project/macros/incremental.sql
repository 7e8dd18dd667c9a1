{#-
    Incremental facts whose build grows with the orders that changed, not with the table.

    A fact row depends on its source rows and on other entities: the customer key, the
    rate in force, the cost in force, returns booked later, the customer's first order.
    int_fact_candidates lists the orders whose fact rows may differ from the stored ones
    (see its description for every reason) -- every order on a first or full build -- and
    the intermediate models that feed the facts derive only those (macro in_fact_scope,
    written before any window or aggregate so the filter reaches the scans). Each fact then
    replaces the candidates' rows: it deletes them (macro replace_fact_scope, a pre-hook in
    the build's transaction) and inserts what the candidates derive to now, so an order
    that is gone at the source (forgotten, erased, deleted) simply has no new rows.

    What the candidates are compared with -- the watermarks of the source tables, the
    rates, the cost versions, the reporting currency and a fingerprint of the facts' code
    -- is kept by the int_fact_state* models, rebuilt after every fact succeeded; until
    then the older state stands and the next build takes a superset of the candidates.
-#}

{% macro in_fact_scope(order_id_column) -%}
    {#- True for rows of orders the facts rebuild in this build (int_fact_candidates). -#}
    {{ order_id_column }} in (select order_id from {{ ref('int_fact_candidates') }})
{%- endmacro %}


{% macro replace_fact_scope() -%}
    {#- Pre-hook of an incremental fact: remove the candidates' rows, which the build then
        inserts anew. Nothing on a first or full-refresh build (the table is new). -#}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where order_id in (select order_id from {{ ref('int_fact_candidates') }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{% macro fact_state_relation(name) -%}
    {#- A relation the facts' state models built, or none (first build, dropped). -#}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(
        database=this.database, schema=this.schema, identifier=name
    )) }}
{%- endmacro %}


{% macro fact_code_fingerprint() -%}
    {#- A text that changes when the code or settings that shape a fact row change: the
        checksums of the facts, of every intermediate and staging model and of the seeds,
        and the freight part numbers. A new fingerprint rebuilds every
        order (a changed formula reaches old rows too). -#}
    {%- set parts = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
            | selectattr('resource_type', 'in', ['model', 'seed'])
            | sort(attribute='name') -%}
            {%- if (node.resource_type == 'seed' or node.name.startswith(('fct_', 'int_', 'stg_')))
                    and not node.name.startswith('int_fact_') -%}
                {%- do parts.append(node.name ~ ':' ~ node.checksum.checksum) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do parts.append('freight:' ~ (var('freight_part_nos') | join(','))) -%}
    {{ return(local_md5(parts | join('|'))) }}
{%- endmacro %}


{% macro cost_versions_change(state) -%}
    {#- How the cost versions (int_sku_cost_versions) may differ from the ones the facts
        were last built with (int_fact_state_costs), judged from this build's
        int_fact_watermarks against the last build's int_fact_state (``state``):

        * 'none': what the versions are made of hashes as it did (cost_inputs_hash);
        * 'since': only price rows that the snapshot (snap_sku_prices) versioned or closed
          after the last build's snapshot time (returned as ``since``): the applications and
          their price lists hash as they did, and the snapshot as it stood at that time
          (its later rows left out, its later closes undone) hashes as it did then. A
          version depends on its own price row's history only, so the others are unchanged;
        * 'all': anything else -- compare every version.

        Returns a mapping: mode, since (timestamp text or none), why (for the SQL). -#}
    {%- set needed = ['cost_inputs_hash', 'cost_lookups_hash', 'prices_snapshot_at',
        'prices_snapshot_hash'] -%}
    {%- if not execute or state is none -%}
        {{ return({'mode': 'all', 'since': none, 'why': 'no state of a previous build'}) }}
    {%- endif -%}
    {%- set stored_columns = adapter.get_columns_in_relation(state)
        | map(attribute='name') | map('lower') | list -%}
    {%- for column in needed if column not in stored_columns -%}
        {{ return({'mode': 'all', 'since': none,
            'why': 'the state of the last build has no ' ~ column}) }}
    {%- endfor -%}
    {%- set pair = " from " ~ state ~ " as state, " ~ ref('int_fact_watermarks') ~ " as now_" -%}
    {%- set found = run_query(
        "select state.cost_inputs_hash = now_.cost_inputs_hash,"
        ~ " state.cost_lookups_hash = now_.cost_lookups_hash,"
        ~ " cast(state.prices_snapshot_at as varchar)" ~ pair
    ) -%}
    {%- if found.rows | length != 1 -%}
        {{ return({'mode': 'all', 'since': none, 'why': 'no state of a previous build'}) }}
    {%- endif -%}
    {%- set row = found.rows[0] -%}
    {%- if row[0] -%}
        {{ return({'mode': 'none', 'since': none, 'why': 'cost inputs unchanged'}) }}
    {%- endif -%}
    {%- if row[1] and row[2] is not none -%}
        {#- the snapshot as it stood then: its later rows left out, its later closes undone -#}
        {%- set past = run_query(
            "select state.prices_snapshot_hash = ("
            ~ " select " ~ row_set_hash('snapshot') ~ " from ("
            ~ "   select * replace (case when dbt_valid_to > state.prices_snapshot_at"
            ~ "     then null else dbt_valid_to end as dbt_valid_to)"
            ~ "   from " ~ ref('snap_sku_prices')
            ~ "   where dbt_valid_from <= state.prices_snapshot_at"
            ~ " ) as snapshot)" ~ pair
        ) -%}
        {%- if past.rows[0][0] -%}
            {{ return({'mode': 'since', 'since': row[2],
                'why': 'price rows the snapshot changed after ' ~ row[2]}) }}
        {%- endif -%}
    {%- endif -%}
    {{ return({'mode': 'all', 'since': none,
        'why': 'applications, their price lists or the older snapshot changed'}) }}
{%- endmacro %}


{% macro row_set_hash(alias) -%}
    {#- One hash of the rows of ``alias`` (a relation alias in a query), whatever their
        order: equal sets give equal hashes. int_fact_watermarks and cost_versions_change
        hash the price snapshot with it, so the two hashes compare. -#}
    hash(count(*), bit_xor(hash({{ alias }})))
{%- endmacro %}


{% macro changed_price_rows(since) -%}
    {#- The price rows (part_no, price_list_id, quantity_break) the snapshot versioned or
        closed after ``since`` (see cost_versions_change). -#}
    select distinct part_no, price_list_id, quantity_break
    from {{ ref('snap_sku_prices') }}
    where dbt_valid_from > timestamp '{{ since }}' or dbt_valid_to > timestamp '{{ since }}'
{%- endmacro %}


{% macro same_price_row(versions, price_rows) -%}
    {#- A version (or price row) and a price row with the same key. -#}
    {{ versions }}.part_no = {{ price_rows }}.part_no
    and {{ versions }}.price_list_id = {{ price_rows }}.price_list_id
    and {{ versions }}.quantity_break = {{ price_rows }}.quantity_break
{%- endmacro %}


{% macro of_price_rows(relation, price_rows) -%}
    {#- The cost versions in ``relation`` of the price rows in ``price_rows``. -#}
    select versions.*
    from {{ relation }} as versions
    semi join {{ price_rows }} as price_rows
        on {{ same_price_row('versions', 'price_rows') }}
{%- endmacro %}


{% macro cost_state_change() -%}
    {#- What int_fact_state_costs replaces in this build (see cost_versions_change): every
        version on a first or full-refresh build and when the facts' code changed. -#}
    {%- if not execute or not is_incremental() -%}
        {{ return({'mode': 'all', 'since': none, 'why': 'a new table'}) }}
    {%- endif -%}
    {%- set state = fact_state_relation('int_fact_state') -%}
    {%- if state is not none -%}
        {%- set stored = run_query("select code_fingerprint from " ~ state) -%}
        {%- if stored.rows | length != 1 or stored.rows[0][0] != fact_code_fingerprint() -%}
            {{ return({'mode': 'all', 'since': none, 'why': 'the code of the facts changed'}) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(cost_versions_change(state)) }}
{%- endmacro %}


{% macro replace_cost_state() -%}
    {#- Pre-hook of int_fact_state_costs: remove the versions it inserts anew. -#}
    {%- set change = cost_state_change() -%}
    {%- if not is_incremental() or change.mode == 'none' -%}
        select 1
    {%- elif change.mode == 'since' -%}
        delete from {{ this }} as versions
        where exists (
            select 1 from ({{ changed_price_rows(change.since) }}) as price_rows
            where {{ same_price_row('versions', 'price_rows') }}
        )
    {%- else -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}
