{#-
    One row per invoice or credit invoice (Orders/Invoices) of an order in fct_orders, in
    the invoicing vocabulary: an invoice carries invoiced_* amounts, a credit invoice
    (a return) returned_* amounts as positive numbers, in the document currency and in the
    reporting currency at the document's own rate (CurrencyRate). Dated by invoice_date.
    Net amounts are the sum of the document's lines (SalesBalance when it has none).

    Incremental, replaced per order: a build replaces the documents of the orders of
    int_fact_candidates (see macros/incremental.sql).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=["{{ replace_fact_scope() }}"],
    )
}}

with

documents as (

    select * from {{ ref('int_invoice_documents') }}
    where {{ in_fact_scope('order_id') }}

),

lines as (

    -- Net amounts from the lines, converted line by line as the order facts do, so a
    -- return adds up to the same total here and in fct_orders.
    select
        invoice_id,
        {{ money('coalesce(sum(quantity) filter (where not is_freight), 0)') }} as units,
        {{ money('sum(line_amount)') }} as net_amount,
        {{ money('sum(' ~ convert('line_amount', 'fx_rate') ~ ')') }} as net_amount_rc
    from {{ ref('int_invoice_lines') }}
    where {{ in_fact_scope('order_id') }}
    group by invoice_id

),

customers as (

    select * from {{ ref('int_order_customers') }}
    where {{ in_fact_scope('order_id') }}

),

measured as (

    select
        documents.*,
        customers.customer_key,
        coalesce(lines.units, 0) as document_units,
        coalesce(lines.net_amount, documents.sales_balance_amount) as document_net,
        coalesce(lines.net_amount_rc, {{ convert('documents.sales_balance_amount', 'documents.fx_rate') }})
            as document_net_rc
    from documents
    inner join customers
        on documents.order_id = customers.order_id
    left join lines
        on documents.invoice_id = lines.invoice_id

),

final as (

    select
        -- keys
        invoice_id,
        invoice_no,
        invoice_type_id,
        order_id,
        customer_key,
        application_id,
        currency_id,

        -- type and dates (UTC)
        is_credit_note,
        invoiced_at,
        invoice_date,
        cast(date_trunc('month', invoice_date) as date) as invoice_month,
        due_at,

        -- invoicing vocabulary, document currency
        {{ money(counted('not is_credit_note', 'document_units')) }} as invoiced_units,
        {{ money(counted('is_credit_note', '-document_units')) }} as returned_units,
        {{ money(counted('not is_credit_note', 'document_net')) }} as invoiced_revenue,
        {{ money(counted('is_credit_note', '-document_net')) }} as returned_revenue,
        document_net as invoiced_revenue_after_returns,
        {{ money(counted('not is_credit_note', 'vat_amount')) }} as invoiced_vat_amount,
        {{ money(counted('not is_credit_note', 'fee_amount')) }} as invoiced_fee_revenue,
        {{ money(counted('not is_credit_note', 'invoice_amount')) }} as invoiced_total_incl_vat,
        {{ money(counted('is_credit_note', '-invoice_amount')) }} as returned_total_incl_vat,

        -- the same in the reporting currency, at the document's rate
        currency_rate,
        reporting_currency_code,
        fx_rate,
        {{ money(counted('not is_credit_note', 'document_net_rc')) }} as invoiced_revenue_rc,
        {{ money(counted('is_credit_note', '-document_net_rc')) }} as returned_revenue_rc,
        document_net_rc as invoiced_revenue_after_returns_rc,
        {{ convert(counted('not is_credit_note', 'vat_amount'), 'fx_rate') }}
            as invoiced_vat_amount_rc,
        {{ convert(counted('not is_credit_note', 'fee_amount'), 'fx_rate') }}
            as invoiced_fee_revenue_rc,
        {{ convert(counted('not is_credit_note', 'invoice_amount'), 'fx_rate') }}
            as invoiced_total_incl_vat_rc,
        {{ convert(counted('is_credit_note', '-invoice_amount'), 'fx_rate') }}
            as returned_total_incl_vat_rc,

        _extracted_at
    from measured

)

select * from final
