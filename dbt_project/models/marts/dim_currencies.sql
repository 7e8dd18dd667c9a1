{#-
    One row per currency (Core/Currencies) with today's rate card (value of one unit in
    EUR), whether it is the client's primary currency and whether the *_rc amounts are in
    it. Past rates are in int_exchange_rates_daily and snapshot snap_currency_rates.
-#}
with

currencies as (

    select * from {{ ref('stg_norce__currencies') }}

),

client_currencies as (

    select * from {{ ref('stg_norce__client_currencies') }}

),

reporting_currency as (

    select * from {{ ref('int_reporting_currency') }}

)

select
    currencies.currency_id,
    currencies.currency_code,
    currencies.currency_name,
    currencies.symbol_prefix,
    currencies.symbol_suffix,
    currencies.exchange_rate_to_eur,
    coalesce(client_currencies.is_primary, false) as is_client_primary,
    client_currencies.currency_id is not null as is_client_currency,
    coalesce(currencies.currency_id = reporting_currency.reporting_currency_id, false)
        as is_reporting_currency,
    currencies.is_active
from currencies
left join client_currencies
    on currencies.currency_id = client_currencies.currency_id
left join reporting_currency
    on true
