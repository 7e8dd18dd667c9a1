{#- One row per SKU x supplier (Products/SupplierProductSkus). -#}
with

source as (

    {{ norce_source('supplier_product_skus', {
        'PartNo': 'varchar',
        'SupplierId': 'integer',
        'Name': 'varchar',
        'ProductId': 'integer',
        'ManufacturerId': 'integer',
        'ManufacturerPartNo': 'varchar',
        'CategoryId': 'integer',
        'EanCode': 'varchar',
        'VatCodeId': 'integer',
        'IsUsed': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "PartNo" as part_no,
        "SupplierId" as supplier_id,
        "Name" as supplier_item_name,
        "ProductId" as product_id,
        "ManufacturerId" as manufacturer_id,
        "ManufacturerPartNo" as manufacturer_part_no,
        "CategoryId" as category_id,
        "EanCode" as ean_code,
        "VatCodeId" as vat_code_id,
        "IsUsed" as is_used,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
