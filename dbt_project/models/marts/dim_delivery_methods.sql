{#- One row per delivery method (Core/DeliveryMethods). -#}
select
    delivery_method_id,
    delivery_method_code,
    delivery_method_name,
    is_active
from {{ ref('stg_norce__delivery_methods') }}
