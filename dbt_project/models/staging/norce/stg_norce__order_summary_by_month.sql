{#- Norce's own monthly order totals (Reporting/OrderSummaryByMonth), per application x month
    x currency, amounts in that currency. Empty when the tenant does not serve the set. -#}
with

source as (

    {{ norce_source('order_summary_by_month', {
        'ApplicationId': 'integer',
        'Year': 'integer',
        'Month': 'integer',
        'CurrencyId': 'integer',
        'OrderCount': 'integer',
        'ItemQuantity': 'decimal(18, 4)',
        'NetAmount': 'decimal(18, 4)',
        'VatAmount': 'decimal(18, 4)',
        'FreightAmount': 'decimal(18, 4)',
        'DiscountAmount': 'decimal(18, 4)',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "ApplicationId" as application_id,
        "Year" as order_year,
        "Month" as order_month_number,
        make_date("Year", "Month", 1) as order_month,
        "CurrencyId" as currency_id,
        "OrderCount" as order_count,
        "ItemQuantity" as item_quantity,
        "NetAmount" as net_amount,
        "VatAmount" as vat_amount,
        "FreightAmount" as freight_amount,
        "DiscountAmount" as discount_amount,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
