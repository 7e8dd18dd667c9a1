{#-
    History of SKU and product attributes (name, brand, primary category, status): what a
    product was called and where it was filed at any time since the warehouse began.
-#}
{% snapshot snap_products %}
{{
    config(
        schema='snapshots',
        unique_key='part_no',
        strategy='check',
        check_cols=[
            'product_id', 'product_name', 'manufacturer_id', 'manufacturer_name',
            'primary_category_id', 'primary_category_name', 'sku_status_id',
            'is_product_active', 'is_published', 'is_blocked',
        ],
    )
}}
with products as (

    select
        part_no,
        product_id,
        product_name,
        manufacturer_id,
        manufacturer_name,
        primary_category_id,
        primary_category_name,
        sku_status_id,
        sku_status_name,
        is_product_active,
        is_published,
        is_blocked
    from {{ ref('int_products_enriched') }}

)

-- Only SKUs that are new or changed (macros/snapshot_changes.sql).
{{ snapshot_changed_rows('products') }}
{% endsnapshot %}
