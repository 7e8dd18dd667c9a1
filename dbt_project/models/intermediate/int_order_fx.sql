{#-
    How each order of this build's fact scope (int_fact_candidates) converts to the reporting currency: one row per order.

    An invoiced order uses its (first) invoice's own rate (Invoices.CurrencyRate) against
    the reporting currency's rate on the invoice day; an order not invoiced (in flight,
    cancelled) uses the rates of its order day (int_exchange_rates_daily). An order in the
    reporting currency converts at exactly 1.

        fx_rate = rate(order currency) / rate(reporting currency), rates in EUR per unit.
-#}
with

orders as (

    select order_id, currency_id, order_date from {{ ref('stg_norce__orders') }}
    where {{ in_fact_scope('order_id') }}

),

first_invoices as (

    select order_id, invoice_id, invoice_date, currency_rate
    from {{ ref('int_invoice_documents') }}
    where not is_credit_note
        and {{ in_fact_scope('order_id') }}
    qualify row_number() over (partition by order_id order by invoiced_at, invoice_id) = 1

),

reporting_currency as (

    select * from {{ ref('int_reporting_currency') }}

),

rates as (

    select * from {{ ref('int_exchange_rates_daily') }}

),

dated as (

    select
        orders.order_id,
        orders.currency_id,
        first_invoices.invoice_id is not null as is_invoiced,
        coalesce(first_invoices.invoice_date, orders.order_date) as fx_date,
        nullif(first_invoices.currency_rate, 0) as invoice_rate
    from orders
    left join first_invoices
        on orders.order_id = first_invoices.order_id

),

final as (

    select
        dated.order_id,
        dated.is_invoiced,
        dated.fx_date,
        reporting_currency.reporting_currency_code,
        case
            when dated.currency_id = reporting_currency.reporting_currency_id then 'same_currency'
            when dated.invoice_rate is not null then 'invoice'
            else 'daily_rate'
        end as fx_rate_source,
        case
            when dated.currency_id = reporting_currency.reporting_currency_id then 1.0
            else cast(coalesce(dated.invoice_rate, own.rate_to_eur) as double)
                / nullif(cast(reporting.rate_to_eur as double), 0)
        end as fx_rate
    from dated
    left join reporting_currency
        on true
    left join rates as own
        on dated.currency_id = own.currency_id
        and dated.fx_date = own.date_day
    left join rates as reporting
        on reporting_currency.reporting_currency_id = reporting.currency_id
        and dated.fx_date = reporting.date_day

)

select * from final
