{#-
    Our order count and net revenue (orders not cancelled, from fct_orders, plus orders we
    erased locally that Norce still counts) beside Norce's own
    Reporting/OrderSummaryByMonth, per application x month (UTC) x currency, amounts in
    that currency. A month present on one side only shows as a full difference.

    Relative difference = |ours - Norce's| / |Norce's| (1 when Norce reports 0 and we do
    not). When the tenant serves no Reporting data (the set answers 500 on some tenants),
    every row of ours says so: reconciliation_status 'summary_not_available' and the
    note "Norce summary not available", with nothing to compare.

    Like with like: the summary shows Norce as of its last extract (summary_as_of, by the
    source's clock), the orders as of theirs. When Orders run every 15 minutes and Reporting
    nightly, a month with an order changed after the summary was read cannot agree yet: it
    says 'summary_older_than_orders' (is_within_tolerance NULL) until the next Reporting
    extract, and only the comparable months are held to the tolerance. The summary's time
    is the source's Date header, in whole seconds: an order changed in the same second as
    the summary was read counts as newer (it may or may not be in the summary).
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

order_changes as (

    -- the latest change at the source of any order we hold (cancelled ones too); a new
    -- order may carry no Updated yet, its Created is the change
    select
        application_id,
        order_month,
        currency_id,
        max(greatest(created_at, updated_at)) as orders_changed_at
    from {{ ref('stg_norce__orders') }}
    group by all

),

summary_as_of as (

    -- the source time the summary is current to: the loader's watermark for the set (a
    -- client-wide set has one for every application), failing that its extract time
    select
        application_id,
        max(source_as_of) as summary_as_of
    from {{ ref('stg_loader__set_watermarks') }}
    where entity_set = 'Reporting/OrderSummaryByMonth'
    group by all

),

summary_extracted as (

    select min(_extracted_at) as extracted_at
    from {{ ref('stg_norce__order_summary_by_month') }}

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
        reported.application_id is not null as in_reporting,
        order_changes.orders_changed_at
    from ours
    full outer join reported
        on ours.application_id = reported.application_id
        and ours.order_month = reported.order_month
        and ours.currency_id = reported.currency_id
    left join erased
        on coalesce(ours.application_id, reported.application_id) = erased.application_id
        and coalesce(ours.order_month, reported.order_month) = erased.order_month
        and coalesce(ours.currency_id, reported.currency_id) = erased.currency_id
    left join order_changes
        on coalesce(ours.application_id, reported.application_id) = order_changes.application_id
        and coalesce(ours.order_month, reported.order_month) = order_changes.order_month
        and coalesce(ours.currency_id, reported.currency_id) = order_changes.currency_id

),

differences as (

    select
        compared.*,
        availability.is_summary_available,
        coalesce(
            for_application.summary_as_of,
            client_wide.summary_as_of,
            summary_extracted.extracted_at
        ) as summary_as_of,
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
    cross join summary_extracted
    left join summary_as_of as for_application
        on compared.application_id = for_application.application_id
    left join summary_as_of as client_wide
        on client_wide.application_id is null

),

comparable as (

    select
        *,
        coalesce(is_summary_available and orders_changed_at > summary_as_of, false)
            as is_summary_older_than_orders
    from differences

),

final as (

    select
        comparable.application_id,
        comparable.order_month,
        year(comparable.order_month) as order_year,
        month(comparable.order_month) as order_month_number,
        comparable.currency_id,
        currencies.currency_code,
        comparable.warehouse_order_count,
        comparable.erased_order_count,
        comparable.reported_order_count,
        comparable.order_count_difference,
        comparable.order_count_relative_difference,
        cast(comparable.warehouse_net_revenue as decimal(18, 4)) as warehouse_net_revenue,
        cast(comparable.reported_net_revenue as decimal(18, 4)) as reported_net_revenue,
        cast(comparable.net_revenue_difference as decimal(18, 4)) as net_revenue_difference,
        comparable.net_revenue_relative_difference,
        comparable.summary_as_of,
        comparable.orders_changed_at,
        case
            when not comparable.is_summary_available then null
            when comparable.is_summary_older_than_orders then null
            when not comparable.in_reporting or not comparable.in_warehouse then false
            else greatest(
                comparable.order_count_relative_difference,
                comparable.net_revenue_relative_difference
            ) <= {{ var('reconciliation_tolerance') }}
        end as is_within_tolerance,
        case
            when not comparable.is_summary_available then 'summary_not_available'
            when comparable.is_summary_older_than_orders then 'summary_older_than_orders'
            when not comparable.in_reporting then 'missing_in_reporting'
            when not comparable.in_warehouse then 'missing_in_warehouse'
            when comparable.order_count_difference = 0
                and comparable.net_revenue_difference = 0 then 'matched'
            when greatest(
                comparable.order_count_relative_difference,
                comparable.net_revenue_relative_difference
            ) <= {{ var('reconciliation_tolerance') }} then 'within_tolerance'
            else 'out_of_tolerance'
        end as reconciliation_status,
        case
            when not comparable.is_summary_available then 'Norce summary not available'
            when comparable.is_summary_older_than_orders
                then 'Norce summary older than the orders: compared after the next Reporting extract'
        end as reconciliation_note
    from comparable
    left join currencies
        on comparable.currency_id = currencies.currency_id

)

select * from final
