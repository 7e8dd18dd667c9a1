{#- One row per payment method (Core/PaymentMethods). -#}
with

source as (

    {{ norce_source('payment_methods', {
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
        "Id" as payment_method_id,
        "Code" as payment_method_code,
        coalesce("DefaultName", "Code") as payment_method_name,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
