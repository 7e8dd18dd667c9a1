{{ config(materialized='table') }}
{#-
    The latest _extracted_at of each source table the facts read (customers: or
    _deleted_at), and what the cost versions are made of, taken before this build's
    candidates (int_fact_candidates): the next build takes the rows loaded after these as
    changed (int_fact_state keeps them once every fact is built), and compares only the
    cost versions whose inputs changed (macro cost_versions_change).
-#}
with

prices_snapshot as (

    -- the snapshot's latest version or close, and a hash of its rows
    select
        max(greatest(dbt_valid_from, coalesce(dbt_valid_to, dbt_valid_from)))
            as prices_snapshot_at,
        {{ row_set_hash('snapshot') }} as prices_snapshot_hash
    from {{ ref('snap_sku_prices') }} as snapshot

),

cost_lookups as (

    -- the other inputs of int_sku_cost_versions, without the loader's columns: a lookup
    -- set is loaded whole every run, which alone changes nothing
    select hash((
        select {{ row_set_hash('price_lists') }}
        from (
            select * exclude (_load_id, _extracted_at)
            from {{ ref('stg_norce__application_price_lists') }}
        ) as price_lists
    ), (
        select {{ row_set_hash('applications') }}
        from (
            select * exclude (_load_id, _extracted_at)
            from {{ ref('stg_norce__applications') }}
        ) as applications
    )) as cost_lookups_hash

)

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
    hash(prices_snapshot.prices_snapshot_hash, cost_lookups.cost_lookups_hash)
        as cost_inputs_hash,
    cost_lookups.cost_lookups_hash,
    prices_snapshot.prices_snapshot_at,
    prices_snapshot.prices_snapshot_hash
from prices_snapshot
cross join cost_lookups
