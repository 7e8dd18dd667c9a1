{#-
    History of the rate card (Core/Currencies.ExchangeRate, the value of one unit in EUR):
    a new version whenever a run finds the rate changed. changed_at is the source's own
    Updated (else Created), which dates a change more exactly than the snapshot time.
-#}
{% snapshot snap_currency_rates %}
{{
    config(
        schema='snapshots',
        unique_key='currency_id',
        strategy='check',
        check_cols=['exchange_rate_to_eur'],
    )
}}
select
    currency_id,
    currency_code,
    exchange_rate_to_eur,
    coalesce(updated_at, created_at) as changed_at
from {{ ref('stg_norce__currencies') }}
{% endsnapshot %}
