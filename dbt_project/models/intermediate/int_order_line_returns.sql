{#-
    What came back of each order line of this build's fact scope (int_fact_candidates):
    one row per order line credited by a credit
    invoice, with the units (merchandise lines only) and the credited amount (ex VAT, as a
    positive number), in the order currency and converted at each credit invoice's rate.
-#}
with

credited as (

    select * from {{ ref('int_invoice_lines') }}
    where is_credit_note
        and order_line_id is not null
        and {{ in_fact_scope('order_id') }}

),

final as (

    select
        order_line_id,
        {{ money('coalesce(-sum(quantity) filter (where not is_freight), 0)') }} as returned_units,
        {{ money('-sum(line_amount)') }} as returned_revenue,
        {{ money('-sum(' ~ convert('line_amount', 'fx_rate') ~ ')') }} as returned_revenue_rc,
        max(invoiced_at) as last_returned_at
    from credited
    group by order_line_id

)

select * from final
