{#- One row per application x country it sells to (Application/ApplicationCountries). -#}
with

source as (

    {{ norce_source('application_countries', {
        'ApplicationId': 'integer',
        'CountryId': 'integer',
        'IsPrimary': 'boolean',
        'IsActive': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "ApplicationId" as application_id,
        "CountryId" as country_id,
        coalesce("IsPrimary", false) as is_primary,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
