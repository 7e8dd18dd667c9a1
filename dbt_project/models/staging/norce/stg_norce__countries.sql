{#- One row per country (Core/Countries); country_code is the ISO code. -#}
with

source as (

    {{ norce_source('countries', {
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
        "Id" as country_id,
        upper("Code") as country_code,
        "DefaultName" as country_name,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
