{#- One row per SKU (Products/ProductSkus), keyed by PartNo. -#}
with

source as (

    {{ norce_source('product_skus', {
        'PartNo': 'varchar',
        'ProductId': 'integer',
        'StatusId': 'integer',
        'TypeId': 'integer',
        'IntegrationPartNo': 'varchar',
        'ErpName': 'varchar',
        'EanCode': 'varchar',
        'CommodityCode': 'varchar',
        'GrossWeight': 'decimal(18, 4)',
        'NetWeight': 'decimal(18, 4)',
        'UnitOfMeasurementCount': 'decimal(18, 4)',
        'IsPublished': 'boolean',
        'IsBlocked': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "PartNo" as part_no,
        "ProductId" as product_id,
        "StatusId" as sku_status_id,
        "TypeId" as sku_type_id,
        "IntegrationPartNo" as integration_part_no,
        "ErpName" as erp_name,
        "EanCode" as ean_code,
        "CommodityCode" as commodity_code,
        "GrossWeight" as gross_weight,
        "NetWeight" as net_weight,
        "UnitOfMeasurementCount" as unit_of_measurement_count,
        coalesce("IsPublished", false) as is_published,
        coalesce("IsBlocked", false) as is_blocked,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
