{#- One row per delivered line (Orders/DeliveryNotes → Items). -#}
with

source as (

    {{ norce_source('delivery_note_items', {
        'Id': 'bigint',
        'DeliveryNoteId': 'bigint',
        'OrderItemId': 'bigint',
        'LineNumber': 'decimal(18, 4)',
        'PartNo': 'varchar',
        'ProductName': 'varchar',
        'QtyOrdered': 'decimal(18, 4)',
        'Quantity': 'decimal(18, 4)',
        'QtyBackOrdered': 'decimal(18, 4)',
        'VatRate': 'decimal(18, 4)',
        'ValueMst': 'decimal(18, 4)',
        'IsPartDelivery': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "Id" as delivery_note_line_id,
        "DeliveryNoteId" as delivery_note_id,
        "OrderItemId" as order_line_id,
        "LineNumber" as line_number,
        "PartNo" as part_no,
        "ProductName" as product_name,
        {{ is_freight('"PartNo"') }} as is_freight,
        "QtyOrdered" as quantity_ordered,
        "Quantity" as quantity_delivered,
        "QtyBackOrdered" as quantity_back_ordered,
        "VatRate" as vat_rate,
        "ValueMst" as line_value,
        "IsPartDelivery" as is_part_delivery,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
