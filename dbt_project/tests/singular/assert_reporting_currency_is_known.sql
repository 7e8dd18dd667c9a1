-- The reporting currency (var reporting_currency / NORCE_REPORTING_CURRENCY, else the
-- client's primary currency, else EUR) must be a Core/Currencies code, or every *_rc
-- amount would be NULL. Fails with one row naming the setting when orders exist and no
-- currency could be chosen. "Orders exist" asks the raw table (rows not deleted at the
-- source), not stg_norce__orders: an exists over that view computes the whole view (its
-- erasure anti-join) on every build, and a fact table would skip this test whenever one of
-- the fact's own tests fails -- which an unknown currency makes happen.

select
    upper(trim('{{ var("reporting_currency") or "" }}')) as reporting_currency_setting,
    'not a Core/Currencies code (set NORCE_REPORTING_CURRENCY to one, or leave it empty for the client''s primary currency)' as issue
where exists (select 1 from ({{ norce_source('orders', {'Id': 'bigint'}) }}) as raw_orders)
    and not exists (select 1 from {{ ref('int_reporting_currency') }})
