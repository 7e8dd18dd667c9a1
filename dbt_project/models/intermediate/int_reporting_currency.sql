{#-
    The reporting currency every *_rc amount is in: one row, or none when the setting names
    a currency Core/Currencies does not have (assert_reporting_currency_is_known fails).

    var reporting_currency (env NORCE_REPORTING_CURRENCY) when set; when empty or unset the
    client's primary currency (Application/ClientCurrencies.IsPrimary); failing that EUR,
    the base of Norce's rate card.
-#}
with

currencies as (

    select * from {{ ref('stg_norce__currencies') }}

),

client_currencies as (

    select * from {{ ref('stg_norce__client_currencies') }}

),

setting as (

    select upper(trim('{{ var("reporting_currency") or "" }}')) as currency_code

),

candidates as (

    select currencies.currency_id, currencies.currency_code, 'setting' as currency_source, 1 as preference
    from currencies
    inner join setting
        on currencies.currency_code = setting.currency_code

    union all

    select currencies.currency_id, currencies.currency_code, 'client_primary', 2
    from client_currencies
    inner join currencies
        on client_currencies.currency_id = currencies.currency_id
    where client_currencies.is_primary
        and (select currency_code from setting) = ''

    union all

    select currency_id, currency_code, 'rate_card_base', 3
    from currencies
    where currency_code = 'EUR'
        and (select currency_code from setting) = ''

)

select
    currency_id as reporting_currency_id,
    currency_code as reporting_currency_code,
    currency_source as reporting_currency_source
from candidates
qualify row_number() over (order by preference, currency_id) = 1
