{#- One row per application (Core/Applications): a market x shop. -#}
with

source as (

    {{ norce_source('applications', {
        'Id': 'integer',
        'Name': 'varchar',
        'Description': 'varchar',
        'Url': 'varchar',
        'ParentId': 'integer',
        'IsActive': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "Id" as application_id,
        coalesce("Name", 'Application ' || "Id") as application_name,
        "Description" as application_description,
        "Url" as application_url,
        "ParentId" as parent_application_id,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
