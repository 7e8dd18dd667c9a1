{#- One row per invoice (Orders/Invoices); order_id is the invoiced order. -#}
with

source as (

    {{ norce_source('invoices', {
        'Id': 'bigint',
        'InvoiceNo': 'varchar',
        'TypeId': 'integer',
        'ReferenceOrderId': 'bigint',
        'BuyerCustomerId': 'integer',
        'BuyerCompanyId': 'integer',
        'InvoiceDate': 'timestamptz',
        'InvoiceDueDate': 'timestamptz',
        'DeliveryDate': 'timestamptz',
        'CurrencyId': 'integer',
        'CurrencyRate': 'decimal(18, 4)',
        'Quantity': 'decimal(18, 4)',
        'CashDiscount': 'decimal(18, 4)',
        'SumLineDiscount': 'decimal(18, 4)',
        'FreightCost': 'decimal(18, 4)',
        'InvoiceFee': 'decimal(18, 4)',
        'CostValue': 'decimal(18, 4)',
        'SalesBalance': 'decimal(18, 4)',
        'InvoiceAmount': 'decimal(18, 4)',
        'InvoiceRoundOff': 'decimal(18, 4)',
        'Vat': 'decimal(18, 4)',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        -- ids
        "Id" as invoice_id,
        "InvoiceNo" as invoice_no,
        "TypeId" as invoice_type_id,
        "ReferenceOrderId" as order_id,
        "BuyerCustomerId" as buyer_customer_id,
        "BuyerCompanyId" as buyer_company_id,

        -- dates (invoice_date is the UTC day)
        "InvoiceDate" as invoiced_at,
        {{ utc_date('"InvoiceDate"') }} as invoice_date,
        "InvoiceDueDate" as due_at,
        "DeliveryDate" as delivered_at,

        -- money (invoice currency)
        "CurrencyId" as currency_id,
        "CurrencyRate" as currency_rate,
        "Quantity" as quantity,
        "CashDiscount" as cash_discount_amount,
        "SumLineDiscount" as line_discount_amount,
        "FreightCost" as freight_amount,
        "InvoiceFee" as fee_amount,
        "CostValue" as cost_amount,
        "SalesBalance" as sales_balance_amount,
        "InvoiceAmount" as invoice_amount,
        "InvoiceRoundOff" as round_off_amount,
        "Vat" as vat_amount,

        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at

    from source

)

select * from renamed
