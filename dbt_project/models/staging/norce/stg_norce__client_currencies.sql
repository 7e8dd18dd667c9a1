{#- One row per currency the client trades in (Application/ClientCurrencies). -#}
with

source as (

    {{ norce_source('client_currencies', {
        'CurrencyId': 'integer',
        'ExchangeRate': 'decimal(18, 6)',
        'IsPrimary': 'boolean',
        'ThresholdPercent': 'decimal(18, 4)',
        'Updated': 'timestamptz',
    }) }}

),

renamed as (

    select
        "CurrencyId" as currency_id,
        "ExchangeRate" as client_exchange_rate,
        coalesce("IsPrimary", false) as is_primary,
        "ThresholdPercent" as threshold_percent,
        "Updated" as updated_at,
        _load_id,
        _extracted_at
    from source

)

select * from renamed
