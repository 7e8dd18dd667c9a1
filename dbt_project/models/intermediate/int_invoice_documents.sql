{#-
    One row per invoice or credit invoice of a retained order of this build's fact scope
    (int_fact_candidates: every order on a full build) (Orders/Invoices), with its
    type and the factor that converts its amounts to the reporting currency at the
    document's own rate.

    A credit invoice is a type the invoice_types seed marks as one; a type the seed does
    not know counts as a credit invoice when its net amount is negative. Documents of
    orders that are forgotten, erased or deleted are left out with their order.
-#}
with

invoices as (

    select * from {{ ref('stg_norce__invoices') }}
    where {{ in_fact_scope('order_id') }}

),

orders as (

    select order_id, application_id from {{ ref('stg_norce__orders') }}
    where {{ in_fact_scope('order_id') }}

),

invoice_types as (

    select * from {{ ref('invoice_types') }}

),

reporting_currency as (

    select * from {{ ref('int_reporting_currency') }}

),

rates as (

    select * from {{ ref('int_exchange_rates_daily') }}

),

final as (

    select
        invoices.invoice_id,
        invoices.invoice_no,
        invoices.invoice_type_id,
        coalesce(invoice_types.is_credit_note, invoices.sales_balance_amount < 0) as is_credit_note,
        invoices.order_id,
        orders.application_id,
        invoices.invoiced_at,
        invoices.invoice_date,
        invoices.due_at,
        invoices.currency_id,
        invoices.currency_rate,
        invoices.sales_balance_amount,
        invoices.vat_amount,
        invoices.fee_amount,
        invoices.invoice_amount,
        reporting_currency.reporting_currency_code,
        case
            when invoices.currency_id = reporting_currency.reporting_currency_id then 1.0
            else cast(coalesce(nullif(invoices.currency_rate, 0), own.rate_to_eur) as double)
                / nullif(cast(reporting.rate_to_eur as double), 0)
        end as fx_rate,
        invoices._extracted_at
    from invoices
    inner join orders
        on invoices.order_id = orders.order_id
    left join invoice_types
        on invoices.invoice_type_id = invoice_types.invoice_type_id
    left join reporting_currency
        on true
    left join rates as own
        on invoices.currency_id = own.currency_id
        and invoices.invoice_date = own.date_day
    left join rates as reporting
        on reporting_currency.reporting_currency_id = reporting.currency_id
        and invoices.invoice_date = reporting.date_day

)

select * from final
