{#- One row per order removed locally by an erasure request (meta.erased_orders). -#}
with

source as (

    {{ norce_source('erased_orders', {
        'order_id': 'bigint',
        'application_id': 'integer',
        'currency_id': 'integer',
        'order_date': 'timestamptz',
        'status_id': 'integer',
        'net_amount': 'decimal(38, 4)',
        'erased_at': 'timestamptz',
    }, source_name='loader') }}

),

renamed as (

    select
        order_id,
        application_id,
        currency_id,
        {{ utc_month('order_date') }} as order_month,
        status_id,
        net_amount,
        erased_at
    from source

)

select * from renamed
