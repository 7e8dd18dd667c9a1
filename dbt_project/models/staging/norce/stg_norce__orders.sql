{#-
    One row per order. Leaves out orders flagged IsForgotten (the loader purges them; this
    is a second guard), orders of customers with an erasure request, and rows deleted at
    the source. Buyer_EmailAddressHash is the customer identity (guests have no id).
-#}
with

source as (

    {{ norce_source('orders', {
        'Id': 'bigint',
        'OrderNo': 'varchar',
        'ClientId': 'integer',
        'ApplicationId': 'integer',
        'QuotationId': 'integer',
        'TypeId': 'integer',
        'Source': 'varchar',
        'OrderDate': 'timestamptz',
        'StatusId': 'integer',
        'CurrencyId': 'integer',
        'BuyerCustomerId': 'integer',
        'BuyerCompanyId': 'integer',
        'PayerCustomerId': 'integer',
        'PayerCompanyId': 'integer',
        'PaymentMethodId': 'integer',
        'DeliveryMethodId': 'integer',
        'DeliveryCountryId': 'integer',
        'DeliveryZipCode': 'varchar',
        'DeliveryCity': 'varchar',
        'DeliveryRegion': 'varchar',
        'DeliveryDate': 'timestamptz',
        'IsPartDelivery': 'boolean',
        'VatRate': 'decimal(18, 4)',
        'CashDiscount': 'decimal(18, 4)',
        'LineDiscount': 'decimal(18, 4)',
        'FreightCost': 'decimal(18, 4)',
        'OrderFee': 'decimal(18, 4)',
        'Buyer_EmailAddressHash': 'varchar',
        'Buyer_CountryId': 'integer',
        'Buyer_ZipCode': 'varchar',
        'Buyer_City': 'varchar',
        'ShipTo_CountryId': 'integer',
        'ShipTo_ZipCode': 'varchar',
        'ShipTo_City': 'varchar',
        'IsForgotten': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

retained as (

    select * from source
    where not coalesce("IsForgotten", false)
        and {{ not_erased('"BuyerCustomerId"', '"Buyer_EmailAddressHash"') }}

),

statuses as (

    select * from {{ ref('order_statuses') }}

),

renamed as (

    select
        -- ids
        retained."Id" as order_id,
        retained."OrderNo" as order_no,
        retained."ClientId" as client_id,
        retained."ApplicationId" as application_id,
        retained."QuotationId" as quotation_id,
        retained."TypeId" as order_type_id,
        retained."Source" as order_source,

        -- customer (identity is the buyer's email hash; guests have no customer id)
        retained."Buyer_EmailAddressHash" as buyer_email_hash,
        retained."BuyerCustomerId" as buyer_customer_id,
        retained."BuyerCompanyId" as buyer_company_id,
        retained."PayerCustomerId" as payer_customer_id,
        retained."PayerCompanyId" as payer_company_id,
        retained."Buyer_CountryId" as buyer_country_id,
        retained."Buyer_ZipCode" as buyer_zip_code,
        retained."Buyer_City" as buyer_city,

        -- delivery
        retained."DeliveryCountryId" as delivery_country_id,
        retained."DeliveryZipCode" as delivery_zip_code,
        retained."DeliveryCity" as delivery_city,
        retained."DeliveryRegion" as delivery_region,
        retained."ShipTo_CountryId" as ship_to_country_id,
        retained."ShipTo_ZipCode" as ship_to_zip_code,
        retained."ShipTo_City" as ship_to_city,
        retained."DeliveryMethodId" as delivery_method_id,
        retained."DeliveryDate" as delivery_requested_at,
        retained."IsPartDelivery" as is_part_delivery,
        -- the order's market: where it ships, else where the buyer lives
        coalesce(
            retained."DeliveryCountryId",
            retained."ShipTo_CountryId",
            retained."Buyer_CountryId"
        ) as country_id,

        -- payment and money (order currency; header VatRate is 0 in practice, VAT is per line)
        retained."PaymentMethodId" as payment_method_id,
        retained."CurrencyId" as currency_id,
        retained."VatRate" as header_vat_rate,
        retained."CashDiscount" as cash_discount_amount,
        retained."LineDiscount" as line_discount_amount,
        retained."FreightCost" as freight_amount,
        retained."OrderFee" as fee_amount,

        -- status, decoded with the order_statuses seed
        retained."StatusId" as status_id,
        coalesce(statuses.status_name, 'unknown') as status_name,
        coalesce(statuses.is_cancelled, false) as is_cancelled,
        coalesce(statuses.is_returned, false) as is_returned,

        -- dates (UTC)
        retained."OrderDate" as ordered_at,
        {{ utc_date('retained."OrderDate"') }} as order_date,
        {{ utc_month('retained."OrderDate"') }} as order_month,
        retained."Created" as created_at,
        retained."Updated" as updated_at,

        -- lineage
        retained._load_id,
        retained._extracted_at

    from retained
    left join statuses
        on retained."StatusId" = statuses.status_id

)

select * from renamed
