{#- One row per delivery note (Orders/DeliveryNotes); order_id is the delivered order. -#}
with

source as (

    {{ norce_source('delivery_notes', {
        'Id': 'bigint',
        'NoteNo': 'varchar',
        'TypeId': 'integer',
        'ReferenceOrderId': 'bigint',
        'SupplierId': 'integer',
        'BuyerCustomerId': 'integer',
        'DeliveryCountryId': 'integer',
        'DeliveryZipCode': 'varchar',
        'DeliveryCity': 'varchar',
        'DeliveryRegion': 'varchar',
        'DeliveryDate': 'timestamptz',
        'DeliveryMode': 'varchar',
        'DeliveryTerms': 'varchar',
        'ShippingNo': 'varchar',
        'Quantity': 'decimal(18, 4)',
        'Weight': 'decimal(18, 4)',
        'Volume': 'decimal(18, 4)',
        'IsPrinted': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "Id" as delivery_note_id,
        "NoteNo" as delivery_note_no,
        "TypeId" as delivery_note_type_id,
        "ReferenceOrderId" as order_id,
        "SupplierId" as supplier_id,
        "BuyerCustomerId" as buyer_customer_id,
        "DeliveryCountryId" as delivery_country_id,
        "DeliveryZipCode" as delivery_zip_code,
        "DeliveryCity" as delivery_city,
        "DeliveryRegion" as delivery_region,
        "DeliveryDate" as delivered_at,
        {{ utc_date('"DeliveryDate"') }} as delivery_date,
        "DeliveryMode" as delivery_mode,
        "DeliveryTerms" as delivery_terms,
        "ShippingNo" as shipping_no,
        "Quantity" as quantity,
        "Weight" as weight,
        "Volume" as volume,
        "IsPrinted" as is_printed,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
