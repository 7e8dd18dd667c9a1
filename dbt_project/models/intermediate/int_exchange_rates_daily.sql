{{ config(materialized='table') }}
{#-
    The rate in force per currency and UTC day (value of one unit in EUR), from every
    piece of evidence the warehouse has:

    * each invoice and credit invoice carries the rate it was issued at (CurrencyRate);
    * each version of the rate card (snapshot snap_currency_rates) is dated by the source's
      Updated where the source stamps it, else by when a run first saw it.

    A day's rate is the latest evidence up to the end of that day; days before the first
    evidence take the earliest. So history from before the warehouse existed comes from
    the invoices, and days since from the rate card.
-#}
with

currencies as (

    select currency_id from {{ ref('stg_norce__currencies') }}

),

invoice_rates as (

    select
        currency_id,
        invoiced_at as observed_at,
        cast(currency_rate as decimal(18, 6)) as rate_to_eur,
        'invoice' as rate_source,
        2 as priority
    from {{ ref('stg_norce__invoices') }}
    where currency_rate > 0
        and invoiced_at is not null

),

card_rates as (

    select
        currency_id,
        coalesce(changed_at, dbt_valid_from) as observed_at,
        cast(exchange_rate_to_eur as decimal(18, 6)) as rate_to_eur,
        'rate_card' as rate_source,
        1 as priority
    from {{ ref('snap_currency_rates') }}
    where exchange_rate_to_eur > 0

),

evidence as (

    select * from invoice_rates
    union all
    select * from card_rates

),

-- One observation per currency and moment; the rate card wins a tie.
observations as (

    select currency_id, observed_at, rate_to_eur, rate_source
    from evidence
    qualify row_number() over (
        partition by currency_id, observed_at order by priority, rate_to_eur
    ) = 1

),

earliest as (

    select currency_id, rate_to_eur, rate_source
    from observations
    qualify row_number() over (partition by currency_id order by observed_at, rate_source) = 1

),

bounds as (

    select
        least(
            coalesce((select min(order_date) from {{ ref('stg_norce__orders') }}), current_date),
            coalesce((select cast(min(observed_at) as date) from observations), current_date)
        ) as first_day,
        greatest(
            current_date,
            coalesce((select max(order_date) from {{ ref('stg_norce__orders') }}), current_date),
            coalesce((select cast(max(observed_at) as date) from observations), current_date)
        ) as last_day

),

days as (

    select
        currencies.currency_id,
        cast(day.day as date) as date_day,
        (cast(day.day as date) + 1)::timestamp at time zone 'UTC' as day_end
    from bounds
    cross join currencies
    cross join lateral (
        select unnest(generate_series(bounds.first_day, bounds.last_day, interval 1 day)) as day
    ) as day

),

in_force as (

    select
        days.currency_id,
        days.date_day,
        observations.rate_to_eur,
        observations.rate_source
    from days
    asof left join observations
        on days.currency_id = observations.currency_id
        and days.day_end > observations.observed_at

)

select
    in_force.currency_id,
    in_force.date_day,
    coalesce(in_force.rate_to_eur, earliest.rate_to_eur) as rate_to_eur,
    coalesce(in_force.rate_source, 'earliest_' || earliest.rate_source) as rate_source
from in_force
inner join earliest
    on in_force.currency_id = earliest.currency_id
