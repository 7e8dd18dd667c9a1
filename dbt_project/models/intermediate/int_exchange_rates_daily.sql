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

order_span as (

    select min(order_date) as first_day, max(order_date) as last_day
    from {{ ref('stg_norce__orders') }}

),

evidence_span as (

    select
        cast(min(observed_at) as date) as first_day,
        cast(max(observed_at) as date) as last_day
    from observations

),

bounds as (

    select
        least(
            coalesce(order_span.first_day, current_date),
            coalesce(evidence_span.first_day, current_date)
        ) as first_day,
        greatest(
            current_date,
            coalesce(order_span.last_day, current_date),
            coalesce(evidence_span.last_day, current_date)
        ) as last_day
    from order_span
    cross join evidence_span

),

days as (

    select
        currencies.currency_id,
        cast(day.day as date) as date_day
    from bounds
    cross join currencies
    cross join lateral (
        select unnest(generate_series(bounds.first_day, bounds.last_day, interval 1 day)) as day
    ) as day

),

-- The last observation of each day per currency (UTC days).
closing as (

    select
        currency_id,
        {{ utc_date('observed_at') }} as date_day,
        arg_max(rate_to_eur, observed_at) as rate_to_eur,
        arg_max(rate_source, observed_at) as rate_source
    from observations
    group by 1, 2

),

-- Carried forward to the days without one.
in_force as (

    select
        days.currency_id,
        days.date_day,
        last_value(closing.rate_to_eur ignore nulls) over carried as rate_to_eur,
        last_value(closing.rate_source ignore nulls) over carried as rate_source
    from days
    left join closing
        on days.currency_id = closing.currency_id
        and days.date_day = closing.date_day
    window carried as (
        partition by days.currency_id
        order by days.date_day
        rows between unbounded preceding and current row
    )

)

select
    in_force.currency_id,
    in_force.date_day,
    coalesce(in_force.rate_to_eur, earliest.rate_to_eur) as rate_to_eur,
    coalesce(in_force.rate_source, 'earliest_' || earliest.rate_source) as rate_source
from in_force
inner join earliest
    on in_force.currency_id = earliest.currency_id
