{#- One row per order status code, from the order_statuses seed. -#}
select
    status_id,
    status_name,
    status_group,
    is_cancelled,
    is_returned,
    is_open,
    description as status_description
from {{ ref('order_statuses') }}
