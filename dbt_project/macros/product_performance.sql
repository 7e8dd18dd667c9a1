{#-
    mart_product_performance rebuilds only the groups (UTC month x SKU) that may have changed.

    Its grain is fine: the orders of a 15-minute run touch a few thousand of its groups, where
    a rebuild would rewrite them all. The groups to rebuild wait in
    meta.product_performance_pending (order_month, part_no):

    * fct_order_lines adds, in its own transaction, the groups its candidates' lines were in
      before it replaced them (pre-hook) and the groups they are in now (post-hook); a build
      of every order adds one row of nulls, which means every group;
    * the mart adds the groups of every SKU whose names, brand or category in dim_products
      are no longer the ones it holds (those are today's).

    The mart deletes those groups, inserts them anew from fct_order_lines and empties the
    table, all in its transaction: a build that fails in between leaves the groups for the
    next one. It rebuilds every group on its first build, a --full-refresh, a row of nulls,
    or a change of its own code. meta.product_performance_state says how the last build
    went: the checksum of the code, when, how many groups it rebuilt and why every group
    (rebuild_reason, null when only the pending ones).
-#}

{% macro product_performance_pending() -%}
    meta.product_performance_pending
{%- endmacro %}


{% macro product_performance_state() -%}
    meta.product_performance_state
{%- endmacro %}


{% macro product_performance_tables() -%}
    {#- on-run-start: the tables the facts and the mart share. -#}
    create table if not exists {{ product_performance_pending() }} (
        order_month date, part_no varchar
    );
    create table if not exists {{ product_performance_state() }} (
        code_checksum varchar,
        built_at timestamptz,
        groups_rebuilt bigint,
        rebuild_reason varchar
    )
{%- endmacro %}


{% macro product_performance_lines(relation) -%}
    {#- The order lines the mart adds up: merchandise of orders that are not cancelled. -#}
    select * from {{ relation }}
    where not is_freight
        and not is_cancelled
{%- endmacro %}


{% macro remember_product_performance_groups() -%}
    {#- A hook of fct_order_lines (pre and post): the groups of its candidates' lines as they
        are now in the table, those not pending already. Every group (a row of nulls) when
        it derives every order or is created anew. -#}
    {%- set candidates = ref('int_fact_candidates') -%}
    insert into {{ product_performance_pending() }}
    {%- if is_incremental() %}
    select order_month, part_no
    from ({{ product_performance_lines(this) }}) as lines
    where order_id in (select order_id from {{ candidates }} where not is_every_order)
    union
    select null, null
    where exists (select 1 from {{ candidates }} where is_every_order)
    {%- else %}
    select null, null
    {%- endif %}
    -- each group once, however many builds leave the mart out
    except
    select order_month, part_no from {{ product_performance_pending() }}
{%- endmacro %}


{% macro product_performance_rebuilds_all() -%}
    {#- Why the mart rebuilds every group ('' when it rebuilds only the pending ones). -#}
    {%- if not execute -%}
        {{ return('parsing') }}
    {%- endif -%}
    {%- if not is_incremental() -%}
        {{ return('a first build or --full-refresh') }}
    {%- endif -%}
    {%- for name in ['product_performance_pending', 'product_performance_state'] -%}
        {%- if adapter.get_relation(database=this.database, schema='meta', identifier=name) is none -%}
            {#- a compile outside a build (on-run-start creates them) -#}
            {{ return('no state of a previous build') }}
        {%- endif -%}
    {%- endfor -%}
    {%- set found = run_query(
        "select (select count(*) from " ~ product_performance_pending()
        ~ " where order_month is null or part_no is null),"
        ~ " (select max(code_checksum) from " ~ product_performance_state() ~ ")"
    ) -%}
    {%- if found.rows[0][0] > 0 -%}
        {{ return('the facts were rebuilt whole') }}
    {%- endif -%}
    {%- if found.rows[0][1] != model.checksum.checksum -%}
        {{ return('its code changed') }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{% macro product_performance_take_groups() -%}
    {#- Pre-hook of the mart, in its transaction: note how it rebuilds; add the groups of SKUs
        whose product attributes changed, then delete every pending group (or every row)
        from the mart. -#}
    {%- set reason = product_performance_rebuilds_all() -%}
    delete from {{ product_performance_state() }};
    insert into {{ product_performance_state() }}
    values ('{{ model.checksum.checksum }}', now(), null, {{ "'" ~ reason ~ "'" if reason else 'null' }})
    {%- if is_incremental() and reason %};
    delete from {{ this }}
    {%- elif is_incremental() %};
    insert into {{ product_performance_pending() }}
    select distinct stored.order_month, stored.part_no
    from {{ this }} as stored
    left join {{ ref('dim_products') }} as products
        on stored.part_no = products.part_no
    where (
            stored.product_id, stored.product_name, stored.manufacturer_id,
            stored.manufacturer_name, stored.primary_category_id, stored.primary_category_name
        ) is distinct from (
            products.product_id, products.product_name, products.manufacturer_id,
            products.manufacturer_name, products.primary_category_id,
            products.primary_category_name
        );
    delete from {{ this }} as stored
    using (select distinct order_month, part_no from {{ product_performance_pending() }}) as pending
    where stored.order_month = pending.order_month
        and stored.part_no = pending.part_no
    {%- endif -%}
{%- endmacro %}


{% macro product_performance_done() -%}
    {#- Post-hook of the mart, in its transaction: count the groups it rebuilt; nothing is
        pending any more. -#}
    update {{ product_performance_state() }}
    set groups_rebuilt = case
        when rebuild_reason is null then (
            select count(*) from (
                select distinct order_month, part_no from {{ product_performance_pending() }}
            )
        )
        else (select count(*) from {{ this }})
    end;
    delete from {{ product_performance_pending() }}
{%- endmacro %}
