{{ config(materialized='table') }}
{#-
    The latest _extracted_at of each source table the facts read (customers: or
    _deleted_at), and a hash of what the cost versions are made of, taken before this
    build's candidates (int_fact_candidates): the next build takes the rows loaded after
    these as changed (int_fact_state keeps them once every fact is built).
-#}
select
    (select max(_extracted_at) from {{ ref('stg_norce__orders') }}) as orders_extracted_at,
    (select max(_extracted_at) from {{ ref('stg_norce__order_items') }})
        as order_items_extracted_at,
    (select max(_extracted_at) from {{ ref('stg_norce__invoices') }}) as invoices_extracted_at,
    (select max(_extracted_at) from {{ ref('stg_norce__invoice_items') }})
        as invoice_items_extracted_at,
    (select max(greatest(_extracted_at, _deleted_at)) from {{ source('norce', 'customers') }})
        as customers_extracted_at,
    -- what int_sku_cost_versions is made of: when equal, no cost version changed
    hash((
        select hash(count(*), bit_xor(hash(snapshot)))
        from {{ ref('snap_sku_prices') }} as snapshot
    ), (
        select hash(count(*), bit_xor(hash(price_lists)))
        from {{ ref('stg_norce__application_price_lists') }} as price_lists
    ), (
        select hash(count(*), bit_xor(hash(applications)))
        from {{ ref('stg_norce__applications') }} as applications
    )) as cost_inputs_hash
