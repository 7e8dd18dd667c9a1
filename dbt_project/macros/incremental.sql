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
