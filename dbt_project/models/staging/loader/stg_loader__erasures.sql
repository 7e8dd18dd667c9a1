{#- One row per customer erasure request the loader recorded (meta.erasures). -#}
with

source as (

    {{ norce_source('erasures', {
        'customer_id': 'integer',
        'email_hash': 'varchar',
        'requested_at': 'timestamptz',
    }, source_name='loader') }}

),

renamed as (

    select
        customer_id,
        email_hash,
        requested_at
    from source

)

select * from renamed
