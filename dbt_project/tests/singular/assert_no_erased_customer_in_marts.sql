-- Privacy: no customer with an erasure request (meta.erasures) appears in a mart or the
-- customer snapshot, by id or by email hash. Returns one row per mart and customer found.

with

erasures as (

    select * from {{ ref('stg_loader__erasures') }}

),

found as (

    select 'fct_orders' as mart, fct.customer_key, fct.buyer_customer_id as customer_id
    from {{ ref('fct_orders') }} as fct
    inner join erasures
        on fct.customer_key = erasures.email_hash
        or fct.buyer_customer_id = erasures.customer_id

    union all

    select 'fct_order_lines', lines.customer_key, null
    from {{ ref('fct_order_lines') }} as lines
    inner join erasures
        on lines.customer_key = erasures.email_hash

    union all

    select 'dim_customers', dim.customer_key, dim.customer_id
    from {{ ref('dim_customers') }} as dim
    inner join erasures
        on dim.customer_key = erasures.email_hash
        or dim.customer_id = erasures.customer_id

    union all

    select 'fct_invoices', invoices.customer_key, null
    from {{ ref('fct_invoices') }} as invoices
    inner join erasures
        on invoices.customer_key = erasures.email_hash

    union all

    select 'snap_customer_segments', snap.customer_key, snap.customer_id
    from {{ ref('snap_customer_segments') }} as snap
    inner join erasures
        on snap.customer_key = erasures.email_hash
        or snap.customer_id = erasures.customer_id

    union all

    select 'mart_customer_rfm', rfm.customer_key, rfm.customer_id
    from {{ ref('mart_customer_rfm') }} as rfm
    inner join erasures
        on rfm.customer_key = erasures.email_hash
        or rfm.customer_id = erasures.customer_id

)

select * from found
