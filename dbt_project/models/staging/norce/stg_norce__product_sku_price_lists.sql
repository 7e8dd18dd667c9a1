{#- One row per SKU x price list x quantity break (Products/ProductSkuPriceLists). Prices
    and costs are in the row's currency; a cost of 0 means "not populated". -#}
with

source as (

    {{ norce_source('product_sku_price_lists', {
        'PartNo': 'varchar',
        'PriceListId': 'integer',
        'QtyBreak': 'integer',
        'CurrencyId': 'integer',
        'PriceSale': 'decimal(18, 4)',
        'PriceStandard': 'decimal(18, 4)',
        'PriceRecommended': 'decimal(18, 4)',
        'PriceCatalog': 'decimal(18, 4)',
        'PricePrevious': 'decimal(18, 4)',
        'CostPurchase': 'decimal(18, 4)',
        'CostUnit': 'decimal(18, 4)',
        'IsActive': 'boolean',
        'IsPriceDiscountable': 'boolean',
        'PriceSaleLastUpdated': 'timestamptz',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "PartNo" as part_no,
        "PriceListId" as price_list_id,
        "QtyBreak" as quantity_break,
        "CurrencyId" as currency_id,
        "PriceSale" as unit_price,
        "PriceStandard" as unit_price_standard,
        "PriceRecommended" as unit_price_recommended,
        "PriceCatalog" as unit_price_catalog,
        "PricePrevious" as unit_price_previous,
        nullif("CostPurchase", 0) as unit_cost_purchase,
        nullif("CostUnit", 0) as unit_cost,
        coalesce("IsActive", false) as is_active,
        "IsPriceDiscountable" as is_price_discountable,
        "PriceSaleLastUpdated" as price_updated_at,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
