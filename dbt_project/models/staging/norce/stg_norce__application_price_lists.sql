{#- One row per application x price list (Application/ApplicationPriceLists). -#}
with

source as (

    {{ norce_source('application_price_lists', {
        'ApplicationId': 'integer',
        'PriceListId': 'integer',
        'IsPrimary': 'boolean',
        'IsActive': 'boolean',
        'IsFavorite': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "ApplicationId" as application_id,
        "PriceListId" as price_list_id,
        coalesce("IsPrimary", false) as is_primary,
        coalesce("IsActive", false) as is_active,
        coalesce("IsFavorite", false) as is_favorite,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
