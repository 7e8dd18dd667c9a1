{#-
    History of SKU prices and costs per price list (Products/ProductSkuPriceLists): a new
    version whenever a run finds a price, cost, currency or the active flag changed.
    changed_at is the source's Updated (else PriceSaleLastUpdated, else Created).
-#}
{% snapshot snap_sku_prices %}
{{
    config(
        schema='snapshots',
        unique_key='price_row_key',
        strategy='check',
        check_cols=['unit_price', 'unit_cost', 'unit_cost_purchase', 'currency_id', 'is_active'],
    )
}}
with prices as (

    select
        part_no || '|' || price_list_id || '|' || quantity_break as price_row_key,
        part_no,
        price_list_id,
        quantity_break,
        currency_id,
        unit_price,
        unit_cost,
        unit_cost_purchase,
        is_active,
        coalesce(updated_at, price_updated_at, created_at) as changed_at
    from {{ ref('stg_norce__product_sku_price_lists') }}

)

-- Only price rows that are new or changed (macros/snapshot_changes.sql).
{{ snapshot_changed_rows('prices') }}
{% endsnapshot %}
