{#-
    Our order count and net amount (orders not cancelled, from fct_orders, plus orders we
    erased locally that Norce still counts) beside Norce's
    own Reporting/OrderSummaryByMonth, per application x month (UTC) x currency, amounts in
    that currency. A month present on one side only shows as a full difference.

    Relative difference = |ours - Norce's| / |Norce's| (1 when Norce reports 0 and we do
    not). Empty when the tenant does not serve the Reporting set.
-#}
with

ours as (

    select
        application_id,
        order_month,
        currency_id,
        count(*) as order_count,
        sum(order_net_amount) as net_amount
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
        sum(net_amount) as net_amount
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
        net_amount
    from {{ ref('stg_norce__order_summary_by_month') }}

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
        coalesce(reported.order_count, 0) as reported_order_count,
        coalesce(ours.net_amount, 0) + coalesce(erased.net_amount, 0) as warehouse_net_amount,
        coalesce(reported.net_amount, 0) as reported_net_amount,
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
    -- No Reporting data at all (the set answers 500 on some tenants): nothing to compare.
    where exists (select 1 from reported)

),

differences as (

    select
        *,
        warehouse_order_count - reported_order_count as order_count_difference,
        warehouse_net_amount - reported_net_amount as net_amount_difference,
        case
            when reported_order_count = 0
                then case when warehouse_order_count = 0 then 0.0 else 1.0 end
            else abs(warehouse_order_count - reported_order_count) / abs(reported_order_count)
        end as order_count_relative_difference,
        case
            when reported_net_amount = 0
                then case when warehouse_net_amount = 0 then 0.0 else 1.0 end
            else cast(abs(warehouse_net_amount - reported_net_amount) as double)
                / abs(cast(reported_net_amount as double))
        end as net_amount_relative_difference
    from compared

),

final as (

    select
        {{ surrogate_key(['differences.application_id', 'differences.order_month',
                          'differences.currency_id']) }} as reconciliation_key,
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
        differences.warehouse_net_amount,
        differences.reported_net_amount,
        differences.net_amount_difference,
        differences.net_amount_relative_difference,
        greatest(
            differences.order_count_relative_difference,
            differences.net_amount_relative_difference
        ) <= {{ var('reconciliation_tolerance') }} as is_within_tolerance,
        case
            when not differences.in_reporting then 'missing_in_reporting'
            when not differences.in_warehouse then 'missing_in_warehouse'
            when differences.order_count_difference = 0
                and differences.net_amount_difference = 0 then 'matched'
            when greatest(
                differences.order_count_relative_difference,
                differences.net_amount_relative_difference
            ) <= {{ var('reconciliation_tolerance') }} then 'within_tolerance'
            else 'out_of_tolerance'
        end as reconciliation_status
    from differences
    left join currencies
        on differences.currency_id = currencies.currency_id

)

select * from final
