{#- One row per country (Core/Countries). -#}
select
    country_id,
    country_code,
    country_name,
    is_active
from {{ ref('stg_norce__countries') }}
