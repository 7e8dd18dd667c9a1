{#- One row per order line (Orders/Orders → Items). Freight is an ordinary line (see the
    is_freight macro, applied in the intermediate models). -#}
with

source as (

    {{ norce_source('order_items', {
        'Id': 'bigint',
        'OrderId': 'bigint',
        'LineNumber': 'decimal(18, 4)',
        'ParentLineNumber': 'decimal(18, 4)',
        'StatusId': 'integer',
        'PartNo': 'varchar',
        'ExternalPartNo': 'varchar',
        'ProductName': 'varchar',
        'WarehouseId': 'integer',
        'QtyOrdered': 'decimal(18, 4)',
        'CurrencyId': 'integer',
        'VatRate': 'decimal(18, 4)',
        'CostUnit': 'decimal(18, 4)',
        'PriceSale': 'decimal(18, 4)',
        'PriceStandard': 'decimal(18, 4)',
        'PriceRecommended': 'decimal(18, 4)',
        'PriceCatalog': 'decimal(18, 4)',
        'DiscountPercentage': 'decimal(18, 4)',
        'DiscountAmount': 'decimal(18, 4)',
        'LineAmount': 'decimal(18, 4)',
        'IsPartDelivery': 'boolean',
        'ExpectedDeliveryDate': 'timestamptz',
        'ConfirmedDeliveryDate': 'timestamptz',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        -- ids
        "Id" as order_line_id,
        "OrderId" as order_id,
        "LineNumber" as line_number,
        "ParentLineNumber" as parent_line_number,
        "StatusId" as line_status_id,

        -- article
        "PartNo" as part_no,
        "ExternalPartNo" as external_part_no,
        "ProductName" as product_name,
        "WarehouseId" as warehouse_id,

        -- quantities and prices (order currency, ex VAT)
        "QtyOrdered" as quantity,
        "CurrencyId" as currency_id,
        "PriceSale" as unit_price,
        "PriceStandard" as unit_price_standard,
        "PriceRecommended" as unit_price_recommended,
        "PriceCatalog" as unit_price_catalog,
        "DiscountPercentage" as discount_percentage,
        "DiscountAmount" as discount_amount,
        "LineAmount" as line_amount,
        "VatRate" as vat_rate,
        -- 0 means "not populated" on observed tenants, not "free"
        nullif("CostUnit", 0) as unit_cost,

        -- delivery
        "IsPartDelivery" as is_part_delivery,
        "ExpectedDeliveryDate" as expected_delivery_at,
        "ConfirmedDeliveryDate" as confirmed_delivery_at,

        -- dates
        "Created" as created_at,
        "Updated" as updated_at,

        -- lineage
        _load_id,
        _extracted_at

    from source

)

select * from renamed
