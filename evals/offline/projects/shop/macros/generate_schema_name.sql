{#- Custom schemas are used as written (seeds land in `raw`, not `analytics_raw`). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
