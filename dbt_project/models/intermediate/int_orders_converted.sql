{#-
    One row per retained order with its amounts (from the lines), its customer key, decoded
    lookups, and every amount also in the reporting currency (var reporting_currency):
        amount_rc = amount x rate(order currency) / rate(reporting currency),
    rates being Core/Currencies.ExchangeRate (value of one unit in EUR).

    customer_key: the buyer's email hash (equal to Customers.EmailAddressHash for registered
    buyers); failing that the registered customer's hash, its id, or -- for a guest without
    an email -- the order itself.
-#}
with

orders as (

    select * from {{ ref('stg_norce__orders') }}

),

order_amounts as (

    select * from {{ ref('int_order_lines_aggregated') }}

),

customers as (

    select * from {{ ref('stg_norce__customers') }}

),

currencies as (

    select * from {{ ref('stg_norce__currencies') }}

),

applications as (

    select * from {{ ref('stg_norce__applications') }}

),

countries as (

    select * from {{ ref('stg_norce__countries') }}

),

payment_methods as (

    select * from {{ ref('stg_norce__payment_methods') }}

),

delivery_methods as (

    select * from {{ ref('stg_norce__delivery_methods') }}

),

reporting_currency as (

    select currency_code, exchange_rate_to_eur
    from currencies
    where currency_code = upper('{{ var("reporting_currency") }}')

),

joined as (

    select
        -- ids
        orders.order_id,
        orders.order_no,
        orders.application_id,
        applications.application_name,

        -- customer
        coalesce(
            orders.buyer_email_hash,
            customers.email_hash,
            'customer-' || orders.buyer_customer_id,
            'order-' || orders.order_id
        ) as customer_key,
        orders.buyer_customer_id,
        orders.buyer_customer_id is null as is_guest_checkout,
        orders.buyer_company_id,

        -- market, payment, delivery
        orders.country_id,
        countries.country_code,
        countries.country_name,
        orders.payment_method_id,
        payment_methods.payment_method_name,
        orders.delivery_method_id,
        delivery_methods.delivery_method_name,

        -- status
        orders.status_id,
        orders.status_name,
        orders.is_cancelled,
        orders.is_returned,

        -- dates (UTC)
        orders.ordered_at,
        orders.order_date,
        orders.order_month,
        orders.created_at,
        orders.updated_at,

        -- quantities
        coalesce(order_amounts.line_count, 0) as line_count,
        coalesce(order_amounts.item_quantity, 0) as item_quantity,

        -- amounts, order currency
        orders.currency_id,
        currencies.currency_code,
        coalesce(order_amounts.merchandise_gross_amount, 0) as merchandise_gross_amount,
        coalesce(order_amounts.discount_amount, 0) as discount_amount,
        coalesce(order_amounts.merchandise_net_amount, 0) as merchandise_net_amount,
        coalesce(orders.freight_amount, 0) as freight_amount,
        coalesce(orders.fee_amount, 0) as fee_amount,
        coalesce(order_amounts.vat_amount, 0) as vat_amount,
        coalesce(order_amounts.order_net_amount, 0) as order_net_amount,
        {{ money('coalesce(order_amounts.order_net_amount, 0)'
                 ' + coalesce(order_amounts.vat_amount, 0)') }} as order_gross_amount,
        coalesce(order_amounts.freight_line_amount, 0) as freight_line_amount,
        order_amounts.known_cost_amount,
        coalesce(order_amounts.lines_without_cost, 0) as lines_without_cost,

        -- conversion
        currencies.exchange_rate_to_eur,
        reporting_currency.currency_code as reporting_currency_code,
        cast(currencies.exchange_rate_to_eur as double)
            / nullif(cast(reporting_currency.exchange_rate_to_eur as double), 0)
            as reporting_currency_factor,

        orders._extracted_at

    from orders
    left join order_amounts
        on orders.order_id = order_amounts.order_id
    left join customers
        on orders.buyer_customer_id = customers.customer_id
    left join currencies
        on orders.currency_id = currencies.currency_id
    left join applications
        on orders.application_id = applications.application_id
    left join countries
        on orders.country_id = countries.country_id
    left join payment_methods
        on orders.payment_method_id = payment_methods.payment_method_id
    left join delivery_methods
        on orders.delivery_method_id = delivery_methods.delivery_method_id
    left join reporting_currency
        on true

),

converted as (

    select
        *,
        {{ convert('merchandise_gross_amount', 'reporting_currency_factor') }} as merchandise_gross_amount_rc,
        {{ convert('discount_amount', 'reporting_currency_factor') }} as discount_amount_rc,
        {{ convert('merchandise_net_amount', 'reporting_currency_factor') }} as merchandise_net_amount_rc,
        {{ convert('freight_amount', 'reporting_currency_factor') }} as freight_amount_rc,
        {{ convert('fee_amount', 'reporting_currency_factor') }} as fee_amount_rc,
        {{ convert('vat_amount', 'reporting_currency_factor') }} as vat_amount_rc,
        {{ convert('order_net_amount', 'reporting_currency_factor') }} as order_net_amount_rc,
        {{ convert('order_gross_amount', 'reporting_currency_factor') }} as order_gross_amount_rc,
        {{ convert('known_cost_amount', 'reporting_currency_factor') }} as known_cost_amount_rc
    from joined

)

select * from converted
