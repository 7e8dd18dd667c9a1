{#-
    Who placed each retained order: one row per order with its customer_key.

    customer_key is the buyer's email hash, which equals Customers.EmailAddressHash for a
    registered buyer, so guest and registered orders of one person meet. Failing that: the
    registered customer's hash, 'customer-<id>' for a registered buyer without an email,
    'order-<id>' for a guest without one.
-#}
with

orders as (

    select * from {{ ref('stg_norce__orders') }}

),

customers as (

    select customer_id, email_hash from {{ ref('stg_norce__customers') }}

),

final as (

    select
        orders.order_id,
        coalesce(
            orders.buyer_email_hash,
            customers.email_hash,
            'customer-' || orders.buyer_customer_id,
            'order-' || orders.order_id
        ) as customer_key,
        orders.buyer_customer_id,
        orders.buyer_customer_id is null as is_guest_checkout
    from orders
    left join customers
        on orders.buyer_customer_id = customers.customer_id

)

select * from final
