{#-
    Our order count and net revenue (orders not cancelled, from fct_orders, plus orders we
    erased locally that Norce still counts) beside Norce's own
    Reporting/OrderSummaryByMonth, per application x month (UTC) x currency, amounts in
    that currency. A month present on one side only shows as a full difference.

    Relative difference = |ours - Norce's| / |Norce's| (1 when Norce reports 0 and we do
    not). When the tenant serves no Reporting data (the set answers 500 on some tenants),
    every row of ours says so: reconciliation_status 'summary_not_available' and the
    note "Norce summary not available", with nothing to compare.
-#}
with

ours as (

    select
        application_id,
        order_month,
        currency_id,
        count(*) as order_count,
        sum(net_revenue) as net_revenue
    from {{ ref('fct_orders') }}
    where not is_cancelled
    group by all

),

erased as (

    -- orders erased locally before Norce flagged them: Norce's Reporting still counts them
    select
        application_id,
        order_month,
        currency_id,
        count(*) as order_count,
        sum(net_amount) as net_revenue
    from {{ ref('stg_loader__erased_orders') }}
    where status_id != 6
    group by all

),

reported as (

    select
        application_id,
        order_month,
        currency_id,
        order_count,
        net_amount as net_revenue
    from {{ ref('stg_norce__order_summary_by_month') }}

),

availability as (

    select exists (select 1 from reported) as is_summary_available

),

currencies as (

    select * from {{ ref('stg_norce__currencies') }}

),

compared as (

    select
        coalesce(ours.application_id, reported.application_id) as application_id,
        coalesce(ours.order_month, reported.order_month) as order_month,
        coalesce(ours.currency_id, reported.currency_id) as currency_id,
        coalesce(ours.order_count, 0) + coalesce(erased.order_count, 0)
            as warehouse_order_count,
        coalesce(erased.order_count, 0) as erased_order_count,
        reported.order_count as reported_order_count,
        coalesce(ours.net_revenue, 0) + coalesce(erased.net_revenue, 0) as warehouse_net_revenue,
        reported.net_revenue as reported_net_revenue,
        ours.application_id is not null as in_warehouse,
        reported.application_id is not null as in_reporting
    from ours
    full outer join reported
        on ours.application_id = reported.application_id
        and ours.order_month = reported.order_month
        and ours.currency_id = reported.currency_id
    left join erased
        on coalesce(ours.application_id, reported.application_id) = erased.application_id
        and coalesce(ours.order_month, reported.order_month) = erased.order_month
        and coalesce(ours.currency_id, reported.currency_id) = erased.currency_id

),

differences as (

    select
        compared.*,
        availability.is_summary_available,
        warehouse_order_count - reported_order_count as order_count_difference,
        warehouse_net_revenue - reported_net_revenue as net_revenue_difference,
        case
            when reported_order_count is null then null
            when reported_order_count = 0
                then case when warehouse_order_count = 0 then 0.0 else 1.0 end
            else abs(warehouse_order_count - reported_order_count) / abs(reported_order_count)
        end as order_count_relative_difference,
        case
            when reported_net_revenue is null then null
            when reported_net_revenue = 0
                then case when warehouse_net_revenue = 0 then 0.0 else 1.0 end
            else cast(abs(warehouse_net_revenue - reported_net_revenue) as double)
                / abs(cast(reported_net_revenue as double))
        end as net_revenue_relative_difference
    from compared
    cross join availability

),

final as (

    select
        differences.application_id,
        differences.order_month,
        year(differences.order_month) as order_year,
        month(differences.order_month) as order_month_number,
        differences.currency_id,
        currencies.currency_code,
        differences.warehouse_order_count,
        differences.erased_order_count,
        differences.reported_order_count,
        differences.order_count_difference,
        differences.order_count_relative_difference,
        cast(differences.warehouse_net_revenue as decimal(18, 4)) as warehouse_net_revenue,
        cast(differences.reported_net_revenue as decimal(18, 4)) as reported_net_revenue,
        cast(differences.net_revenue_difference as decimal(18, 4)) as net_revenue_difference,
        differences.net_revenue_relative_difference,
        case
            when not differences.is_summary_available then null
            when not differences.in_reporting or not differences.in_warehouse then false
            else greatest(
                differences.order_count_relative_difference,
                differences.net_revenue_relative_difference
            ) <= {{ var('reconciliation_tolerance') }}
        end as is_within_tolerance,
        case
            when not differences.is_summary_available then 'summary_not_available'
            when not differences.in_reporting then 'missing_in_reporting'
            when not differences.in_warehouse then 'missing_in_warehouse'
            when differences.order_count_difference = 0
                and differences.net_revenue_difference = 0 then 'matched'
            when greatest(
                differences.order_count_relative_difference,
                differences.net_revenue_relative_difference
            ) <= {{ var('reconciliation_tolerance') }} then 'within_tolerance'
            else 'out_of_tolerance'
        end as reconciliation_status,
        case
            when not differences.is_summary_available then 'Norce summary not available'
        end as reconciliation_note
    from differences
    left join currencies
        on differences.currency_id = currencies.currency_id

)

select * from final
