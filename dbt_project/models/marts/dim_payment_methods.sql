{#- One row per payment method (Core/PaymentMethods). -#}
select
    payment_method_id,
    payment_method_code,
    payment_method_name,
    is_active
from {{ ref('stg_norce__payment_methods') }}
