{#-
    One row per SKU with its product, manufacturer, primary category and status: the
    product attributes order lines and dim_products share.
-#}
with

skus as (

    select * from {{ ref('stg_norce__product_skus') }}

),

products as (

    select * from {{ ref('stg_norce__products') }}

),

manufacturers as (

    select * from {{ ref('stg_norce__client_manufacturers') }}

),

categories as (

    select * from {{ ref('stg_norce__categories') }}

),

sku_statuses as (

    select * from {{ ref('stg_norce__sku_statuses') }}

),

product_categories as (

    select * from {{ ref('stg_norce__product_categories') }}

),

-- The primary link wins; a product without one falls back to its first active link.
primary_categories as (

    select
        product_id,
        category_id,
        count(*) over (partition by product_id) as category_count
    from product_categories
    qualify row_number() over (
        partition by product_id
        order by is_primary desc, is_active desc, sort_order nulls last, category_id
    ) = 1

),

joined as (

    select
        skus.part_no,
        skus.product_id,
        products.product_name,
        products.product_code,
        products.manufacturer_part_no,
        products.is_active as is_product_active,
        products.is_variant,
        products.manufacturer_id,
        manufacturers.manufacturer_name,
        primary_categories.category_id as primary_category_id,
        categories.category_name as primary_category_name,
        categories.category_full_name as primary_category_full_name,
        coalesce(primary_categories.category_count, 0) as category_count,
        skus.sku_status_id,
        sku_statuses.sku_status_name,
        skus.erp_name,
        skus.ean_code,
        skus.is_published,
        skus.is_blocked,
        skus.created_at as sku_created_at,
        products.created_at as product_created_at
    from skus
    left join products
        on skus.product_id = products.product_id
    left join manufacturers
        on products.manufacturer_id = manufacturers.manufacturer_id
    left join primary_categories
        on skus.product_id = primary_categories.product_id
    left join categories
        on primary_categories.category_id = categories.category_id
    left join sku_statuses
        on skus.sku_status_id = sku_statuses.sku_status_id

)

select * from joined
