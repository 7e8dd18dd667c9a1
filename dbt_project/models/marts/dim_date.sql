{#- One row per calendar day, from 1 January of the first order's year to 31 December of
    the later of the last order's year and today. -#}
with

bounds as (

    select
        date_trunc('year', coalesce(min(order_date), current_date)) as first_day,
        date_trunc('year', greatest(coalesce(max(order_date), current_date), current_date))
            + interval 1 year - interval 1 day as last_day
    from {{ ref('fct_orders') }}

),

days as (

    select cast(unnest(generate_series(first_day, last_day, interval 1 day)) as date) as date_day
    from bounds

),

final as (

    select
        date_day,
        cast(strftime(date_day, '%Y%m%d') as integer) as date_key,
        year(date_day) as year,
        quarter(date_day) as quarter,
        month(date_day) as month,
        strftime(date_day, '%B') as month_name,
        cast(date_trunc('month', date_day) as date) as month_start,
        cast(last_day(date_day) as date) as month_end,
        cast(date_trunc('quarter', date_day) as date) as quarter_start,
        cast(date_trunc('week', date_day) as date) as week_start,
        isoyear(date_day) as iso_year,
        week(date_day) as iso_week,
        dayofmonth(date_day) as day_of_month,
        isodow(date_day) as day_of_week,
        strftime(date_day, '%A') as day_name,
        dayofyear(date_day) as day_of_year,
        isodow(date_day) in (6, 7) as is_weekend
    from days

)

select * from final
