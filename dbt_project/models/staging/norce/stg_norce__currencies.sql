{#- One row per currency (Core/Currencies). exchange_rate_to_eur is the merchant's rate card
    as it stands now: the value of one unit in EUR (EUR = 1), not a live FX rate. Its
    history is in snapshot snap_currency_rates. -#}
with

source as (

    {{ norce_source('currencies', {
        'Id': 'integer',
        'Code': 'varchar',
        'DefaultName': 'varchar',
        'ExchangeRate': 'decimal(18, 6)',
        'DefaultPrefix': 'varchar',
        'DefaultSuffix': 'varchar',
        'IsActive': 'boolean',
        'Created': 'timestamptz',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "Id" as currency_id,
        upper("Code") as currency_code,
        "DefaultName" as currency_name,
        "ExchangeRate" as exchange_rate_to_eur,
        "DefaultPrefix" as symbol_prefix,
        "DefaultSuffix" as symbol_suffix,
        coalesce("IsActive", false) as is_active,
        "Created" as created_at,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
