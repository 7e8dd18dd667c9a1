{#- One row per VAT code (Core/VatCodes); vat_rate in percent. -#}
with

source as (

    {{ norce_source('vat_codes', {
        'Id': 'integer',
        'Code': 'varchar',
        'DefaultName': 'varchar',
        'Rate': 'decimal(18, 4)',
        'IsActive': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "Id" as vat_code_id,
        "Code" as vat_code,
        coalesce("DefaultName", "Code") as vat_code_name,
        "Rate" as vat_rate,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
