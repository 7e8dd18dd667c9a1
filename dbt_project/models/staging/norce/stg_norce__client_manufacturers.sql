{#- One row per manufacturer (brand) the client uses (Application/ClientManufacturers). -#}
with

source as (

    {{ norce_source('client_manufacturers', {
        'ManufacturerId': 'integer',
        'Name': 'varchar',
        'IsActive': 'boolean',
    }) }}

),

renamed as (

    select
        "ManufacturerId" as manufacturer_id,
        "Name" as manufacturer_name,
        coalesce("IsActive", false) as is_active,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
