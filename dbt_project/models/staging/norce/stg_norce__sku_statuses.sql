{#- One row per sku status (Core/SkuStatuses). -#}
with

source as (

    {{ norce_source('sku_statuses', {
        'Id': 'integer',
        'Code': 'varchar',
        'DefaultName': 'varchar',
        'IsActive': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "Id" as sku_status_id,
        "Code" as sku_status_code,
        coalesce("DefaultName", "Code") as sku_status_name,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
