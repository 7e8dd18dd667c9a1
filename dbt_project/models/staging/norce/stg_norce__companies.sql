{#- One row per company (Customers/Companies); phone and fax numbers are never loaded. -#}
with

source as (

    {{ norce_source('companies', {
        'Id': 'integer',
        'ClientId': 'integer',
        'ApplicationId': 'integer',
        'CompanyCode': 'varchar',
        'Name': 'varchar',
        'OrganizationNo': 'varchar',
        'VatNo': 'varchar',
        'EmailAddressHash': 'varchar',
        'TypeId': 'integer',
        'ParentCompanyId': 'integer',
        'IsActive': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "Id" as company_id,
        "ClientId" as client_id,
        "ApplicationId" as application_id,
        "CompanyCode" as company_code,
        "Name" as company_name,
        "OrganizationNo" as organization_no,
        "VatNo" as vat_no,
        "EmailAddressHash" as email_hash,
        "TypeId" as company_type_id,
        "ParentCompanyId" as parent_company_id,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
