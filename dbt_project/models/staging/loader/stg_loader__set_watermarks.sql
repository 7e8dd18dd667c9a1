{#- One row per entity set x application: the source time its raw table is current to
    (meta.state; key ranges of a split pass are folded into part ''). -#}
with

source as (

    {{ norce_source('state', {
        'entity': 'varchar',
        'application_id': 'integer',
        'part': 'varchar',
        'watermark': 'timestamptz',
    }, source_name='loader') }}

),

renamed as (

    select
        entity as entity_set,
        nullif(application_id, 0) as application_id,
        watermark as source_as_of
    from source
    where part = ''

)

select * from renamed
