{#-
    One row per line of a document in int_invoice_documents, with the document's type,
    date and conversion factor. order_line_id is the order line it invoices or credits.
-#}
with

lines as (

    select * from {{ ref('stg_norce__invoice_items') }}

),

documents as (

    select * from {{ ref('int_invoice_documents') }}

),

final as (

    select
        lines.invoice_line_id,
        lines.invoice_id,
        documents.order_id,
        lines.order_line_id,
        documents.is_credit_note,
        documents.invoiced_at,
        lines.part_no,
        {{ is_freight('lines.part_no') }} as is_freight,
        lines.quantity,
        lines.line_amount,
        lines.discount_amount,
        lines.vat_rate,
        documents.fx_rate
    from lines
    inner join documents
        on lines.invoice_id = documents.invoice_id

)

select * from final
