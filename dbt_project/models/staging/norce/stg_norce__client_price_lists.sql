{#- One row per price list (Application/ClientPriceLists). -#}
with

source as (

    {{ norce_source('client_price_lists', {
        'PriceListId': 'integer',
        'Name': 'varchar',
        'Description': 'varchar',
        'CurrencyId': 'integer',
        'TypeId': 'integer',
        'ParentPriceListId': 'integer',
        'SalesAreaId': 'integer',
        'StartDate': 'timestamptz',
        'EndDate': 'timestamptz',
        'IsPrimary': 'boolean',
        'IsPublic': 'boolean',
        'IsActive': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "PriceListId" as price_list_id,
        "Name" as price_list_name,
        "Description" as price_list_description,
        "CurrencyId" as currency_id,
        "TypeId" as price_list_type_id,
        "ParentPriceListId" as parent_price_list_id,
        "SalesAreaId" as sales_area_id,
        "StartDate" as valid_from,
        "EndDate" as valid_to,
        coalesce("IsPrimary", false) as is_primary,
        "IsPublic" as is_public,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
