{#-
    History of the attributes customers are segmented by (segment, registration, first
    market): who moved from 'repeat' to 'lapsed', and when. Captured only in runs without
    var as_of_date (an as-of build is a look back, not a new state). Customers who are
    forgotten or erased leave the snapshot too (post-hook), like every other table. A run
    compares only the customers dim_customers rebuilt since the last one
    (macros/customers.sql).
-#}
{% snapshot snap_customer_segments %}
{{
    config(
        schema='snapshots',
        unique_key='customer_key',
        strategy='check',
        check_cols=['customer_segment', 'is_registered', 'customer_id', 'first_application_id'],
        post_hook=["{{ customer_segments_done() }}"],
    )
}}
-- depends_on: {{ ref('int_customer_keys') }}
with customers as (

    select
        customer_key,
        customer_id,
        is_registered,
        first_application_id,
        customer_segment
    from {{ ref('dim_customers') }}
    {%- if var('as_of_date') %}
    where false
    {%- elif not customer_segments_compare_all() %}
    -- the customers dim_customers rebuilt since the last run (macros/customers.sql)
    where customer_key in (select customer_key from {{ pending_keys_relation('customer_segments') }})
    {%- endif %}

)

-- Only customers that are new or changed (macros/snapshot_changes.sql): the same history,
-- at the cost of the change.
{{ snapshot_changed_rows('customers') }}
{% endsnapshot %}
