{#- One row per product (Products/Products). DefaultName can be variant-level text (a size)
    on some tenants, so product_name is the product's default name, not a display title. -#}
with

source as (

    {{ norce_source('products', {
        'Id': 'integer',
        'ClientId': 'integer',
        'ManufacturerId': 'integer',
        'ManufacturerPartNo': 'varchar',
        'Code': 'varchar',
        'DefaultName': 'varchar',
        'DefaultTitle': 'varchar',
        'DefaultUniqueUrlName': 'varchar',
        'IsVariant': 'boolean',
        'VariantId': 'integer',
        'IsActive': 'boolean',
        'StoppedDate': 'timestamptz',
        'UnspscCode': 'varchar',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "Id" as product_id,
        "ClientId" as client_id,
        "ManufacturerId" as manufacturer_id,
        "ManufacturerPartNo" as manufacturer_part_no,
        "Code" as product_code,
        "DefaultName" as product_name,
        "DefaultTitle" as product_title,
        "DefaultUniqueUrlName" as unique_url_name,
        "IsVariant" as is_variant,
        "VariantId" as variant_id,
        coalesce("IsActive", false) as is_active,
        "StoppedDate" as stopped_at,
        "UnspscCode" as unspsc_code,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
