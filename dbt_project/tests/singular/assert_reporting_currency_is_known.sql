-- The reporting currency (var reporting_currency / NORCE_REPORTING_CURRENCY) must be a
-- Core/Currencies code with a rate, or every *_rc amount would be NULL. Fails with one row
-- naming the currency when orders exist and it is not.

select
    upper('{{ var("reporting_currency") }}') as reporting_currency,
    'not a Core/Currencies code with an exchange rate' as issue
from {{ ref('fct_orders') }}
having count(*) > 0
    and not exists (
        select 1 from {{ ref('stg_norce__currencies') }}
        where currency_code = upper('{{ var("reporting_currency") }}')
            and exchange_rate_to_eur > 0
    )
