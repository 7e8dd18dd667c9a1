{#- One row per registered customer (Customers/Customers). Forgotten customers and those with
    an erasure request are left out; names and phone numbers never reach the warehouse. -#}
with

source as (

    {{ norce_source('customers', {
        'Id': 'integer',
        'ClientId': 'integer',
        'Key': 'uuid',
        'CustomerCode': 'varchar',
        'EmailAddressHash': 'varchar',
        'IsActive': 'boolean',
        'IsForgotten': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

retained as (

    select * from source
    where not coalesce("IsForgotten", false)
        and {{ not_erased('"Id"', '"EmailAddressHash"') }}

),

renamed as (

    select
        "Id" as customer_id,
        "ClientId" as client_id,
        "Key" as customer_guid,
        "CustomerCode" as customer_code,
        "EmailAddressHash" as email_hash,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from retained

)

select * from renamed
