{#-
    One row per application: a market (one shop, one currency, a home country). The
    currency is that of the application's primary price list, else the one most of its
    orders use; the primary country is its primary ApplicationCountries row, else its
    first active one.
-#}
with

applications as (

    select * from {{ ref('stg_norce__applications') }}

),

price_list_currencies as (

    select
        application_price_lists.application_id,
        client_price_lists.currency_id
    from {{ ref('stg_norce__application_price_lists') }} as application_price_lists
    inner join {{ ref('stg_norce__client_price_lists') }} as client_price_lists
        on application_price_lists.price_list_id = client_price_lists.price_list_id
    where client_price_lists.currency_id is not null
    qualify row_number() over (
        partition by application_price_lists.application_id
        order by
            application_price_lists.is_primary desc,
            application_price_lists.is_active desc,
            application_price_lists.price_list_id
    ) = 1

),

order_currencies as (

    select application_id, currency_id
    from {{ ref('stg_norce__orders') }}
    group by application_id, currency_id
    qualify row_number() over (
        partition by application_id order by count(*) desc, currency_id
    ) = 1

),

primary_countries as (

    select application_id, country_id
    from {{ ref('stg_norce__application_countries') }}
    qualify row_number() over (
        partition by application_id order by is_primary desc, is_active desc, country_id
    ) = 1

),

currencies as (

    select * from {{ ref('stg_norce__currencies') }}

),

countries as (

    select * from {{ ref('stg_norce__countries') }}

),

final as (

    select
        applications.application_id,
        applications.application_name,
        applications.application_description,
        applications.application_url,
        applications.parent_application_id,
        applications.is_active,
        coalesce(price_list_currencies.currency_id, order_currencies.currency_id) as currency_id,
        currencies.currency_code,
        primary_countries.country_id as primary_country_id,
        countries.country_code as primary_country_code,
        countries.country_name as primary_country_name
    from applications
    left join price_list_currencies
        on applications.application_id = price_list_currencies.application_id
    left join order_currencies
        on applications.application_id = order_currencies.application_id
    left join primary_countries
        on applications.application_id = primary_countries.application_id
    left join currencies
        on coalesce(price_list_currencies.currency_id, order_currencies.currency_id)
            = currencies.currency_id
    left join countries
        on primary_countries.country_id = countries.country_id

)

select * from final
