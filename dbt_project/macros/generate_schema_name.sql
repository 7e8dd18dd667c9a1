{#-
    Custom schemas are used verbatim: +schema: marts builds into `marts`, not `main_marts`.
    The warehouse layout (raw, meta, staging, intermediate, marts) is a contract BI tools
    and the loader rely on, so the target schema is only a fallback for unconfigured nodes.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
