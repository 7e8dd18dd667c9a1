{#- One row per product x category link (Products/Products → Categories). -#}
with

source as (

    {{ norce_source('product_categories', {
        'ProductId': 'integer',
        'CategoryId': 'integer',
        'IsPrimary': 'boolean',
        'SortOrder': 'integer',
        'IsActive': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "ProductId" as product_id,
        "CategoryId" as category_id,
        coalesce("IsPrimary", false) as is_primary,
        "SortOrder" as sort_order,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
