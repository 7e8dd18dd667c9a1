{#- One row per SKU (part_no) with its product, manufacturer, primary category and status. -#}
with

products as (

    select * from {{ ref('int_products_enriched') }}

),

final as (

    select
        part_no,
        product_id,
        product_name,
        product_code,
        manufacturer_part_no,
        manufacturer_id,
        manufacturer_name,
        primary_category_id,
        primary_category_name,
        primary_category_full_name,
        category_count,
        sku_status_id,
        sku_status_name,
        erp_name,
        ean_code,
        is_product_active,
        is_variant,
        is_published,
        is_blocked,
        product_created_at,
        sku_created_at
    from products

)

select * from final
