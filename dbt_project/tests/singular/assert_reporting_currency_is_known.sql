-- The reporting currency (var reporting_currency / NORCE_REPORTING_CURRENCY, else the
-- client's primary currency, else EUR) must be a Core/Currencies code, or every *_rc
-- amount would be NULL. Fails with one row naming the setting when orders exist and no
-- currency could be chosen.

select
    upper(trim('{{ var("reporting_currency") or "" }}')) as reporting_currency_setting,
    'not a Core/Currencies code (set NORCE_REPORTING_CURRENCY to one, or leave it empty for the client''s primary currency)' as issue
where exists (select 1 from {{ ref('stg_norce__orders') }})
    and not exists (select 1 from {{ ref('int_reporting_currency') }})
