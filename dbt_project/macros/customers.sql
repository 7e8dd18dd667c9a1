{#-
    dim_customers rebuilds only the customers that may have changed, and
    snap_customer_segments compares only those.

    A 15-minute run changes the orders of about as many customers as orders, where a
    rebuild would aggregate every order of every customer. The customers to rebuild wait in
    meta.customers_pending (customer_key; macros/pending_keys.sql):

    * fct_orders adds, in its own transaction, the customer keys its candidate orders had
      before it replaced them (pre-hook) and have now (post-hook): a customer's lifetime
      figures, first and last order move only with their own orders;
    * dim_customers adds every customer whose registration (the Customers rows of the key:
      lowest id, how many accounts, when registered) differs from the one it holds.

    It rebuilds every customer on its first build, a --full-refresh, a rebuild of the
    facts, a change of its code or of var lapsed_after_days, and when the as-of day moves:
    days_since_last_order and the segment are measured from it (once a day on a schedule,
    when the first order of a new day arrives). meta.customers_state says how the last build
    went (customers_rebuilt, rebuild_reason).

    The customers it rebuilt wait in meta.customer_segments_pending for the snapshot, whose
    segments can change only there; it compares every customer after a rebuild of every
    customer, on its first run and when its code changed (meta.customer_segments_state).
-#}

{% macro customers_tables() -%}
    {#- on-run-start: the tables fct_orders, dim_customers and the snapshot share. -#}
    {{ pending_keys_tables('customers', {'customer_key': 'varchar'}, 'customers_rebuilt') }};
    {{ pending_keys_tables('customer_segments', {'customer_key': 'varchar'}, 'customers_compared') }}
{%- endmacro %}


{% macro customers_settings() -%}
    {{ return('lapsed_after_days=' ~ var('lapsed_after_days')) }}
{%- endmacro %}


{% macro remember_customers() -%}
    {#- A hook of fct_orders (pre and post): the customers of its candidate orders. -#}
    {%- set keys_of_candidates -%}
        select customer_key from {{ this }}
        where order_id in {{ candidate_orders() }}
    {%- endset -%}
    {{ remember_pending_keys('customers', ['customer_key'], keys_of_candidates) }}
{%- endmacro %}


{% macro customers_registered() -%}
    {#- Registered customers by key, as of the as-of day: the lowest id, the accounts and the
        first registration. -#}
    select
        coalesce(email_hash, 'customer-' || customer_id) as customer_key,
        min(customer_id) as customer_id,
        count(*) as registered_accounts,
        min(created_at) as registered_at
    from {{ ref('stg_norce__customers') }}
    where {{ as_of_filter("coalesce(created_at, '-infinity'::timestamptz)") }}
    group by 1
{%- endmacro %}


{% macro customers_rebuild_all() -%}
    {#- Why dim_customers rebuilds every customer ('' when only the pending ones). -#}
    {%- set reason = pending_keys_rebuild_all('customers', ['customer_key'], customers_settings()) -%}
    {%- if reason -%}
        {{ return(reason) }}
    {%- endif -%}
    {%- set days = run_query(
        "select cast((select max(as_of_date) from " ~ this ~ ") as varchar),"
        ~ " cast(" ~ as_of_date() ~ " as varchar)"
    ) -%}
    {%- if days.rows[0][0] != days.rows[0][1] -%}
        {{ return('the as-of day moved to ' ~ days.rows[0][1]) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{% macro customers_take() -%}
    {#- Pre-hook of dim_customers, in its transaction: note how it rebuilds; add the customers
        whose registration changed, then delete every pending customer (or every row). -#}
    {%- set reason = customers_rebuild_all() -%}
    {{ pending_keys_begin('customers', reason, customers_settings()) }}
    {%- if is_incremental() and not reason %};
    insert into {{ pending_keys_relation('customers') }}
    with
    registered as ({{ customers_registered() }}),
    stored as (
        select customer_key, customer_id, registered_accounts, registered_at
        from {{ this }}
        where registered_accounts > 0
    )
    select customer_key from (
        (select * from registered except select * from stored)
        union all
        (select * from stored except select * from registered)
    )
    except
    select customer_key from {{ pending_keys_relation('customers') }};
    {{ pending_keys_delete('customers', ['customer_key']) }}
    {%- endif -%}
{%- endmacro %}


{% macro customers_done() -%}
    {#- Post-hook of dim_customers, in its transaction: hand the customers it rebuilt (every
        one: a row of null) to the snapshot, count them; nothing is pending any more. -#}
    insert into {{ pending_keys_relation('customer_segments') }}
    select customer_key from {{ pending_keys_relation('customers') }}
    where (select rebuild_reason from {{ pending_state_relation('customers') }}) is null
    union
    select null
    where (select rebuild_reason from {{ pending_state_relation('customers') }}) is not null
    except
    select customer_key from {{ pending_keys_relation('customer_segments') }};
    {{ pending_keys_done('customers', ['customer_key'], 'customers_rebuilt') }}
{%- endmacro %}


{% macro customer_segments_compare_all() -%}
    {#- Why snap_customer_segments compares every customer ('' when only the pending ones);
        its first run compares every customer anyway. -#}
    {{ return(pending_keys_rebuild_all(
        'customer_segments', ['customer_key'],
        every_key='dim_customers was rebuilt whole', incremental=true
    )) }}
{%- endmacro %}


{% macro customer_segments_done() -%}
    {#- Post-hook of the snapshot: remove the customers that are gone (forgotten, erased;
        of the pending ones when it compared only those), then, unless this is an as-of run
        (which captures nothing), note the run and empty the pending customers. -#}
    {%- set reason = customer_segments_compare_all() -%}
    {%- if reason or var('as_of_date') %}
    -- every customer (an as-of dim_customers leaves out who came later)
    delete from {{ this }} as snap
    where not exists (
        select 1 from {{ ref('int_customer_keys') }} as live
        where live.customer_key = snap.customer_key
    )
    {%- else %}
    delete from {{ this }}
    where customer_key in (select customer_key from {{ pending_keys_relation('customer_segments') }})
        and customer_key not in (select customer_key from {{ ref('dim_customers') }})
    {%- endif %}
    {%- if not var('as_of_date') %};
    delete from {{ pending_state_relation('customer_segments') }};
    insert into {{ pending_state_relation('customer_segments') }}
    values (
        '{{ model.checksum.checksum }}',
        now(),
        {%- if reason %}
        (select count(*) from {{ ref('dim_customers') }}),
        '{{ reason }}'
        {%- else %}
        (select count(distinct customer_key) from {{ pending_keys_relation('customer_segments') }}),
        null
        {%- endif %}
    );
    delete from {{ pending_keys_relation('customer_segments') }}
    {%- endif %}
{%- endmacro %}
