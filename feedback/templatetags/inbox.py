"""`{% load inbox %}{% fast_select bound_field %}`: a <select> written directly, for the inbox's
many filter and bulk-action selects (Django's widget templates render each <option> through the
template engine: about a fifth of the inbox page's time)."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def fast_select(bound_field):
    value = bound_field.value()
    values = value if isinstance(value, list | tuple) else [value]
    selected = {str(item) for item in values if item not in (None, "")}
    options = format_html_join(
        "", "<option value=\"{}\"{}>{}</option>",
        ((str(key), mark_safe(" selected") if str(key) in selected else "", label)
         for key, label in bound_field.field.choices),
    )
    return format_html('<select name="{}" id="{}">{}</select>', bound_field.html_name, bound_field.auto_id, options)
