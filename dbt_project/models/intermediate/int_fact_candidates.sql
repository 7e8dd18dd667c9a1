{{ config(materialized='table') }}
{#-
    The orders whose fact rows (fct_orders, fct_order_lines, fct_invoices) this build
    derives and replaces: one row per order id. Every order -- retained now or stored in
    the facts -- on a first build, a --full-refresh, a change of the facts' code, seeds or
    freight setting (macro fact_code_fingerprint), of the reporting currency, or of the
    facts' columns. Otherwise the orders that may have changed since the last build
    (int_fact_state*):

    * source rows loaded since: the order, its items, its invoices and credit invoices
      and their lines (the loader's _extracted_at above the last build's watermark);
    * new to the facts, or gone from staging (forgotten, erased, deleted at the source),
      or with a stored line or document that is gone;
    * a customer key that is not the stored one;
    * a rate (int_exchange_rates_daily) that changed on the order's day, its conversion
      day or the day of one of its documents;
    * a cost version (int_sku_cost_versions) of one of its SKUs that changed in the
      period the order was placed in (a version that only ended: between its old and its
      new end). Only the versions whose inputs changed are compared (macro
      cost_versions_change): none when nothing they are made of changed, the versions of
      the price rows the snapshot changed since the last build when only prices changed,
      all of them otherwise;
    * the first order of every customer of the orders above, as stored and as it is now.

    is_first_order says whether the order is its customer's first that is not cancelled
    (ties by order id) -- over every order of the customer, the unchanged ones as stored
    in fct_orders -- for int_orders_enriched.

    is_every_order is true on every row when the build derives every order (the facts
    are rebuilt whole): mart_product_performance then rebuilds every group too.
-#}
{%- set state = fact_state_relation('int_fact_state') -%}
{%- set rate_state = fact_state_relation('int_fact_state_rates') -%}
{%- set cost_state = fact_state_relation('int_fact_state_costs') -%}
{%- set facts = {} -%}
{%- set full_reasons = [] -%}
{%- if execute -%}
    {%- for name in ['fct_orders', 'fct_order_lines', 'fct_invoices'] -%}
        {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ name] -%}
        {%- set relation = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=node.alias
        ) -%}
        {%- if relation is none -%}
            {%- do full_reasons.append(name ~ ' does not exist') -%}
        {%- else -%}
            {%- do facts.update({name: relation}) -%}
            {%- set built = adapter.get_columns_in_relation(relation)
                | map(attribute='name') | map('lower') | list -%}
            {%- for column in node.columns if column | lower not in built -%}
                {%- do full_reasons.append(name ~ '.' ~ column ~ ' is new') -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if state is none or rate_state is none or cost_state is none -%}
        {%- do full_reasons.append('no state of a previous build') -%}
    {%- endif -%}
    {%- if flags.FULL_REFRESH -%}
        {%- do full_reasons.append('--full-refresh') -%}
    {%- endif -%}
    {%- if not full_reasons -%}
        {%- set stored = run_query(
            "select coalesce(cast(orders_extracted_at as varchar), '-infinity'),"
            ~ " coalesce(cast(order_items_extracted_at as varchar), '-infinity'),"
            ~ " coalesce(cast(invoices_extracted_at as varchar), '-infinity'),"
            ~ " coalesce(cast(invoice_items_extracted_at as varchar), '-infinity'),"
            ~ " coalesce(reporting_currency_code, ''), code_fingerprint,"
            ~ " coalesce(cast(customers_extracted_at as varchar), '-infinity')"
            ~ " from " ~ state
        ) -%}
        {%- set current_currency = run_query(
            "select coalesce(max(reporting_currency_code), '') from "
            ~ ref('int_reporting_currency')
        ) -%}
        {%- if stored.rows | length != 1 -%}
            {%- do full_reasons.append('no state of a previous build') -%}
        {%- else -%}
            {%- set watermarks = stored.rows[0] -%}
            {%- if watermarks[4] != current_currency.rows[0][0] -%}
                {%- do full_reasons.append('the reporting currency is now '
                    ~ current_currency.rows[0][0]) -%}
            {%- endif -%}
            {%- if watermarks[5] != fact_code_fingerprint() -%}
                {%- do full_reasons.append('the code of the facts changed') -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- else -%}
    {%- do full_reasons.append('parsing') -%}
{%- endif -%}
-- depends_on: {{ ref('int_order_customers') }}, {{ ref('int_exchange_rates_daily') }}
-- depends_on: {{ ref('int_sku_cost_versions') }}, {{ ref('int_reporting_currency') }}
-- depends_on: {{ ref('stg_norce__order_items') }}, {{ ref('stg_norce__invoices') }}
-- depends_on: {{ ref('stg_norce__invoice_items') }}, {{ ref('int_fact_watermarks') }}
-- depends_on: {{ ref('snap_sku_prices') }}
with

orders as (

    select order_id, order_date, ordered_at, application_id, is_cancelled, _extracted_at
    from {{ ref('stg_norce__orders') }}

),

{%- if full_reasons %}

-- every order: {{ full_reasons | join('; ') }}
candidates as (

    select order_id from orders
    {%- if 'fct_orders' in facts %}
    union
    select order_id from {{ facts['fct_orders'] }}
    {%- endif %}

),

first_orders as (

    select orders.order_id
    from orders
    inner join {{ ref('int_order_customers') }} as customers
        on orders.order_id = customers.order_id
    where not orders.is_cancelled
    qualify row_number() over (
        partition by customers.customer_key order by orders.ordered_at, orders.order_id
    ) = 1

),

{%- else %}

stored_orders as not materialized (

    select
        order_id, customer_key, buyer_customer_id, ordered_at, order_date, order_month,
        fx_date, is_cancelled, is_first_order
    from {{ facts['fct_orders'] }}

),

changed_rate_days as (

    select date_day from (
        (
            select currency_id, date_day, rate_to_eur from {{ ref('int_exchange_rates_daily') }}
            except
            select currency_id, date_day, rate_to_eur from {{ rate_state }}
        )
        union all
        (
            select currency_id, date_day, rate_to_eur from {{ rate_state }}
            except
            select currency_id, date_day, rate_to_eur from {{ ref('int_exchange_rates_daily') }}
        )
    ) as changed
    group by date_day

),

{%- set costs = cost_versions_change(state) %}
{%- set costs_changed = costs.mode != 'none' %}
-- cost versions compared: {{ costs.mode }} ({{ costs.why }})
{% if costs.mode == 'since' -%}
{#- only price rows the snapshot changed since the last build: compare their versions -#}
changed_price_rows as materialized (

    {{ changed_price_rows(costs.since) }}

),

cost_versions as materialized (

    {{ of_price_rows(ref('int_sku_cost_versions'), 'changed_price_rows') }}

),

stored_cost_versions as materialized (

    {{ of_price_rows(cost_state, 'changed_price_rows') }}

),
{%- elif costs.mode == 'all' %}
{#- what the cost versions are made of changed otherwise: compare them all -#}
cost_versions as materialized (

    select * from {{ ref('int_sku_cost_versions') }}

),

stored_cost_versions as not materialized (

    select * from {{ cost_state }}

),
{%- endif %}
{%- if costs_changed %}

added_cost_versions as materialized (

    select * from cost_versions
    except
    select * from stored_cost_versions

),

removed_cost_versions as materialized (

    select * from stored_cost_versions
    except
    select * from cost_versions

),

changed_cost_versions as materialized (

    -- the periods whose cost may differ: a version that only ended (or ends no more)
    -- changes the period between its old and its new end; any other, its whole period
    {%- set same_version %}
        added.application_id = removed.application_id
        and added.part_no = removed.part_no
        and added.price_list_id is not distinct from removed.price_list_id
        and added.quantity_break is not distinct from removed.quantity_break
        and added.currency_id is not distinct from removed.currency_id
        and added.unit_cost = removed.unit_cost
        and added.cost_source = removed.cost_source
        and added.effective_from = removed.effective_from
        and added.is_application_price_list = removed.is_application_price_list
        and added.is_primary_price_list = removed.is_primary_price_list
        and added.is_active is not distinct from removed.is_active
    {%- endset %}
    select
        added.application_id,
        added.part_no,
        least(added.effective_to, removed.effective_to) as effective_from,
        greatest(added.effective_to, removed.effective_to) as effective_to
    from added_cost_versions as added
    inner join removed_cost_versions as removed
        on {{ same_version }}
    union all
    select added.application_id, added.part_no, added.effective_from, added.effective_to
    from added_cost_versions as added
    anti join removed_cost_versions as removed
        on {{ same_version }}
    union all
    select removed.application_id, removed.part_no, removed.effective_from, removed.effective_to
    from removed_cost_versions as removed
    anti join added_cost_versions as added
        on {{ same_version }}

),

cost_changed_lines as materialized (

    -- the lines of those SKUs, found before any join: a join of every line to its order
    -- first would cost a pass over both tables
    select order_id, part_no from {{ ref('stg_norce__order_items') }}
    where part_no in (select part_no from changed_cost_versions)

),
{%- endif %}

orders_of_loaded_buyers as materialized (

    -- the stored orders of buyers whose customer row was loaded or found deleted since:
    -- found first, so that only their customer keys are derived again below
    select order_id, customer_key from stored_orders
    where buyer_customer_id in (
            select "Id" from {{ source('norce', 'customers') }}
            where _extracted_at > timestamptz '{{ watermarks[6] }}'
            {%- set present = raw_relation_columns(source('norce', 'customers')) %}
            {%- if present is not none and '_deleted_at' in present %}
                or _deleted_at > timestamptz '{{ watermarks[6] }}'
            {%- endif %}
        )

),

changed as materialized (

    -- source rows loaded since the last build
    select order_id from orders
    where _extracted_at > timestamptz '{{ watermarks[0] }}'
    union
    select order_id from {{ ref('stg_norce__order_items') }}
    where _extracted_at > timestamptz '{{ watermarks[1] }}'
    union
    select order_id from {{ ref('stg_norce__invoices') }}
    where _extracted_at > timestamptz '{{ watermarks[2] }}'
    union
    select invoices.order_id
    from {{ ref('stg_norce__invoice_items') }} as invoice_lines
    inner join {{ ref('stg_norce__invoices') }} as invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    where invoice_lines._extracted_at > timestamptz '{{ watermarks[3] }}'
    union
    select order_lines.order_id
    from {{ ref('stg_norce__invoice_items') }} as invoice_lines
    inner join {{ ref('stg_norce__order_items') }} as order_lines
        on invoice_lines.order_line_id = order_lines.order_line_id
    where invoice_lines._extracted_at > timestamptz '{{ watermarks[3] }}'

    -- new to the facts, or gone from staging
    union
    select order_id from orders
    anti join stored_orders using (order_id)
    union
    select order_id from stored_orders
    anti join orders using (order_id)
    {%- for table, order_column in [
        ('order_items', '"OrderId"'), ('invoices', '"ReferenceOrderId"')] %}
        {%- set present = raw_relation_columns(source('norce', table)) %}
        {%- if present is not none and '_deleted_at' in present %}
    union
    -- a line or document the loader found deleted at the source since
    select {{ order_column }} from {{ source('norce', table) }}
    where _deleted_at > timestamptz '{{ watermarks[0 if table == 'order_items' else 2] }}'
        {%- endif %}
    {%- endfor %}

    -- the customer key moved: the buyer's customer row was loaded or found deleted since
    -- (a customer forgotten or erased takes their orders with them, gone from staging)
    union
    select customers.order_id
    from {{ ref('int_order_customers') }} as customers
    inner join orders_of_loaded_buyers as stored
        on customers.order_id = stored.order_id
    where customers.customer_key is distinct from stored.customer_key

    -- a rate changed on a day the order converts or is costed at
    union
    select order_id from orders
    where order_date in (select date_day from changed_rate_days)
    union
    select order_id from stored_orders
    where fx_date in (select date_day from changed_rate_days)
    union
    select order_id from {{ ref('stg_norce__invoices') }}
    where invoice_date in (select date_day from changed_rate_days)

    {%- if costs_changed %}
    -- a cost version of one of its SKUs in force when it was placed changed
    union
    select lines.order_id
    from cost_changed_lines as lines
    inner join orders
        on lines.order_id = orders.order_id
    inner join changed_cost_versions as versions
        on lines.part_no = versions.part_no
        and orders.application_id = versions.application_id
        and orders.ordered_at >= versions.effective_from
        and orders.ordered_at < versions.effective_to
    {%- endif %}
),

changed_now as materialized (

    select orders.order_id, customers.customer_key, orders.ordered_at, orders.is_cancelled
    from orders
    inner join {{ ref('int_order_customers') }} as customers
        on orders.order_id = customers.order_id
    where orders.order_id in (select order_id from changed)

),

affected_customers as materialized (

    select customer_key from stored_orders
    where order_id in (select order_id from changed)
    union
    select customer_key from changed_now

),

orders_of_affected_customers as (

    -- every order of those customers as it is now: a changed one as derived now, any
    -- other as stored (had its customer, time or status changed, it would be changed)
    select order_id, customer_key, ordered_at, is_cancelled
    from stored_orders
    where customer_key in (select customer_key from affected_customers)
        and order_id not in (select order_id from changed)
    union all
    select order_id, customer_key, ordered_at, is_cancelled
    from changed_now

),

first_orders as materialized (

    select order_id
    from orders_of_affected_customers
    where not is_cancelled
    qualify row_number() over (partition by customer_key order by ordered_at, order_id) = 1

),

candidates as (

    select order_id from changed
    union
    -- the first orders of those customers, as stored and as they are now
    select order_id from stored_orders
    where is_first_order
        and customer_key in (select customer_key from affected_customers)
    union
    select order_id from first_orders

),

{%- endif %}

final as (

    select
        candidates.order_id,
        first_orders.order_id is not null as is_first_order,
        {{ 'true' if full_reasons else 'false' }} as is_every_order
    from candidates
    left join first_orders
        on candidates.order_id = first_orders.order_id

)

select * from final
