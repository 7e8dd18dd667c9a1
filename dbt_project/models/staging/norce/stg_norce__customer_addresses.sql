{#- One row per customer address (Customers/Customers → Addresses); street lines are never
    loaded. Addresses of customers with an erasure request are left out. -#}
with

source as (

    {{ norce_source('customer_addresses', {
        'Id': 'integer',
        'CustomerId': 'integer',
        'TypeId': 'integer',
        'ZipCode': 'varchar',
        'City': 'varchar',
        'Region': 'varchar',
        'CountryId': 'integer',
        'StatusId': 'integer',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

retained as (

    select * from source
    where {{ not_erased('"CustomerId"') }}

),

renamed as (

    select
        "Id" as customer_address_id,
        "CustomerId" as customer_id,
        "TypeId" as address_type_id,
        "ZipCode" as zip_code,
        "City" as city,
        "Region" as region,
        "CountryId" as country_id,
        "StatusId" as address_status_id,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from retained

)

select * from renamed
