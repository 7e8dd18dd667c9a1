{{ config(materialized='table') }}
{#-
    The latest _extracted_at of each source table the facts read, taken before this
    build's candidates (int_fact_candidates): the next build takes the rows loaded after
    these as changed (int_fact_state keeps them once every fact is built).
-#}
select
    (select max(_extracted_at) from {{ ref('stg_norce__orders') }}) as orders_extracted_at,
    (select max(_extracted_at) from {{ ref('stg_norce__order_items') }})
        as order_items_extracted_at,
    (select max(_extracted_at) from {{ ref('stg_norce__invoices') }}) as invoices_extracted_at,
    (select max(_extracted_at) from {{ ref('stg_norce__invoice_items') }})
        as invoice_items_extracted_at
