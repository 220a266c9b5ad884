"""The case timeline in templates: `{% load timeline %}`, then `event|describe` (see
`feedback.cases.events.describe`, the one place that reads an event's stored data)."""

from django import template

from feedback.cases import events

register = template.Library()


@register.filter
def describe(event) -> events.Description:
    return events.describe(event)
