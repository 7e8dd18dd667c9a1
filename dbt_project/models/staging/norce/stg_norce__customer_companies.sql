{#- One row per customer x company link (Customers/CustomerCompanies). -#}
with

source as (

    {{ norce_source('customer_companies', {
        'CustomerId': 'integer',
        'CompanyId': 'integer',
        'RoleId': 'integer',
        'CustomerCode': 'varchar',
        'Department': 'varchar',
        'IsPrimary': 'boolean',
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
        "CustomerId" as customer_id,
        "CompanyId" as company_id,
        "RoleId" as role_id,
        "CustomerCode" as customer_code,
        "Department" as department,
        coalesce("IsPrimary", false) as is_primary,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from retained

)

select * from renamed
