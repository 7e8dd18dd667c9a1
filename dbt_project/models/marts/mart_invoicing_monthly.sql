{#-
    Invoicing per UTC month of the document x application x currency: invoiced revenue,
    returns (credit invoices) and what remains, VAT, fees and totals, from fct_invoices.
    Returns count in the month they were credited, not the month of the order (for
    returns by order date see returned_revenue in the sales marts).
-#}
with

documents as (

    select * from {{ ref('fct_invoices') }}

),

aggregated as (

    select
        invoice_month,
        application_id,
        currency_id,
        count(*) filter (where not is_credit_note) as invoices,
        count(*) filter (where is_credit_note) as credit_notes,
        {{ money('sum(invoiced_units)') }} as invoiced_units,
        {{ money('sum(returned_units)') }} as returned_units,
        {%- for measure in invoicing_measures() %}
        {{ money('sum(' ~ measure ~ ')') }} as {{ measure }},
        {%- endfor %}
        any_value(reporting_currency_code) as reporting_currency_code,
        {%- for measure in invoicing_measures() %}
        {{ money('sum(' ~ measure ~ '_rc)') }} as {{ measure }}_rc{{ "," if not loop.last }}
        {%- endfor %}
    from documents
    group by invoice_month, application_id, currency_id

)

select
    aggregated.invoice_month,
    aggregated.application_id,
    applications.application_name,
    aggregated.currency_id,
    currencies.currency_code,
    aggregated.* exclude (invoice_month, application_id, currency_id)
from aggregated
left join {{ ref('dim_applications') }} as applications
    on aggregated.application_id = applications.application_id
left join {{ ref('dim_currencies') }} as currencies
    on aggregated.currency_id = currencies.currency_id
