{#- One row per product category (Application/Categories). -#}
with

source as (

    {{ norce_source('categories', {
        'Id': 'integer',
        'Code': 'varchar',
        'DefaultName': 'varchar',
        'DefaultFullName': 'varchar',
        'BusinessArea': 'varchar',
        'IsActive': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "Id" as category_id,
        "Code" as category_code,
        coalesce("DefaultName", "Code") as category_name,
        "DefaultFullName" as category_full_name,
        "BusinessArea" as business_area,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
