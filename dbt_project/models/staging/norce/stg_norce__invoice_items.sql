{#- One row per invoice line (Orders/Invoices → Items). -#}
with

source as (

    {{ norce_source('invoice_items', {
        'Id': 'bigint',
        'InvoiceId': 'bigint',
        'OrderItemId': 'bigint',
        'LineNumber': 'decimal(18, 4)',
        'StatusId': 'integer',
        'PartNo': 'varchar',
        'ProductName': 'varchar',
        'Quantity': 'integer',
        'CurrencyId': 'integer',
        'VatRate': 'decimal(18, 4)',
        'CostUnit': 'decimal(18, 4)',
        'PriceSale': 'decimal(18, 4)',
        'DiscountAmount': 'decimal(18, 4)',
        'LineAmount': 'decimal(18, 4)',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "Id" as invoice_line_id,
        "InvoiceId" as invoice_id,
        "OrderItemId" as order_line_id,
        "LineNumber" as line_number,
        "StatusId" as line_status_id,
        "PartNo" as part_no,
        "ProductName" as product_name,
        "Quantity" as quantity,
        "CurrencyId" as currency_id,
        "PriceSale" as unit_price,
        "DiscountAmount" as discount_amount,
        "LineAmount" as line_amount,
        "VatRate" as vat_rate,
        nullif("CostUnit", 0) as unit_cost,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
