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
    (rebuild_reason, null when only the pending ones). The machinery is
    macros/pending_keys.sql's.
-#}

{% macro product_performance_pending() -%}
    {{ pending_keys_relation('product_performance') }}
{%- endmacro %}


{% macro product_performance_tables() -%}
    {#- on-run-start: the tables the facts and the mart share. -#}
    {{ pending_keys_tables(
        'product_performance', {'order_month': 'date', 'part_no': 'varchar'}, 'groups_rebuilt'
    ) }}
{%- endmacro %}


{% macro product_performance_lines(relation) -%}
    {#- The order lines the mart adds up: merchandise of orders that are not cancelled. -#}
    select * from {{ relation }}
    where not is_freight
        and not is_cancelled
{%- endmacro %}


{% macro remember_product_performance_groups() -%}
    {#- A hook of fct_order_lines (pre and post): the groups of its candidates' lines as they
        are now in the table. -#}
    {%- set keys_of_candidates -%}
        select order_month, part_no
        from ({{ product_performance_lines(this) }}) as lines
        where order_id in {{ candidate_orders() }}
    {%- endset -%}
    {{ remember_pending_keys('product_performance', ['order_month', 'part_no'], keys_of_candidates) }}
{%- endmacro %}


{% macro product_performance_rebuilds_all() -%}
    {#- Why the mart rebuilds every group ('' when it rebuilds only the pending ones). -#}
    {{ return(pending_keys_rebuild_all('product_performance', ['order_month', 'part_no'])) }}
{%- endmacro %}


{% macro product_performance_take_groups() -%}
    {#- Pre-hook of the mart, in its transaction: note how it rebuilds; add the groups of SKUs
        whose product attributes changed, then delete every pending group (or every row)
        from the mart. -#}
    {%- set reason = product_performance_rebuilds_all() -%}
    {{ pending_keys_begin('product_performance', reason) }}
    {%- if is_incremental() and not reason %};
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
    {{ pending_keys_delete('product_performance', ['order_month', 'part_no']) }}
    {%- endif -%}
{%- endmacro %}


{% macro product_performance_done() -%}
    {#- Post-hook of the mart, in its transaction: count the groups it rebuilt; nothing is
        pending any more. -#}
    {{ pending_keys_done('product_performance', ['order_month', 'part_no'], 'groups_rebuilt') }}
{%- endmacro %}
