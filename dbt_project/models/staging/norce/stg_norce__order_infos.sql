{#- One row per order attribute (Orders/Orders → Infos), keyed by order and info type. -#}
with

source as (

    {{ norce_source('order_infos', {
        'OrderId': 'bigint',
        'TypeId': 'integer',
        'Value': 'varchar',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "OrderId" as order_id,
        "TypeId" as info_type_id,
        "Value" as info_value,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
