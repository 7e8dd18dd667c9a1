{#- Fails for every row whose VAT rate (column_name, percent) is not one of the rates the
    vat_rates seed lists for the row's country (country_column, a Core/Countries id) on
    its date (date_column). Countries the seed does not list are not checked: add them to
    seeds/vat_rates.csv. -#}
{% test vat_rate_valid_for_country(model, column_name, country_column, date_column) %}

with

tested as (

    select * from {{ model }}

),

checked as (

    select
        rows.{{ column_name }} as vat_rate,
        rows.{{ date_column }} as checked_date,
        countries.country_code
    from tested as rows
    inner join {{ ref('stg_norce__countries') }} as countries
        on rows.{{ country_column }} = countries.country_id
    where rows.{{ column_name }} is not null
        and countries.country_code in (select country_code from {{ ref('vat_rates') }})

)

select
    country_code,
    vat_rate,
    min(checked_date) as first_date,
    max(checked_date) as last_date,
    count(*) as rows_with_this_rate
from checked
where not exists (
    select 1
    from {{ ref('vat_rates') }} as rates
    where rates.country_code = checked.country_code
        and rates.vat_rate = checked.vat_rate
        and checked.checked_date >= rates.valid_from
        and (rates.valid_to is null or checked.checked_date <= rates.valid_to)
)
group by country_code, vat_rate

{% endtest %}
