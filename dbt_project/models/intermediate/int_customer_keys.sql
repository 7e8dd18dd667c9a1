{#- Every customer the warehouse may show: buyers of retained orders and registered
    customers (one row per customer_key). What is not here has been forgotten or erased. -#}
select customer_key from {{ ref('int_order_customers') }}
union
select coalesce(email_hash, 'customer-' || customer_id) from {{ ref('stg_norce__customers') }}
