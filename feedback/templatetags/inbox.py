"""The inbox's hot spots, written directly instead of through the template engine (which renders each
variable, filter and include on its own: most of the page's time at 50 rows):

- `{% fast_select bound_field %}`: a <select> for the inbox's many filter and bulk-action selects (Django's
  widget templates render each <option> through the template engine: about a fifth of the page's time);
- `{% inbox_row case multi_department %}`: one row of the list (the template was half the page's time).
"""

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from customers.models import Stage
from feedback.choices import Intent, Priority
from feedback.templatetags.baton import clock_badge, minute

register = template.Library()


@register.simple_tag
def fast_select(bound_field):
    value = bound_field.value()
    values = value if isinstance(value, list | tuple) else [value]
    selected = {str(item) for item in values if item not in (None, "")}
    options = "".join(
        f'<option value="{escape(key)}"{" selected" if str(key) in selected else ""}>{escape(label)}</option>'
        for key, label in bound_field.field.choices
    )
    return mark_safe(f'<select name="{escape(bound_field.html_name)}" id="{escape(bound_field.auto_id)}">{options}'
                     "</select>")


STATUS_BADGES = {"pending": '<span class="status pending">Pending</span>', "new": '<span class="status new">New</span>'}
SENTIMENT_MARKS = {"negative": "− ", "positive": "+ "}
# The choices' labels, looked up once (a model's get_FOO_display builds its dict on every call).
PRIORITY_LABELS, INTENT_LABELS, STAGE_LABELS = dict(Priority.choices), dict(Intent.choices), dict(Stage.choices)


@register.simple_tag
def inbox_row(case, multi_department: bool = False):
    """One inbox row: tick box, priority and level, case and customer (stage, status, department when the user
    has several), first line, intent and sentiment, nearest clock, assignee, age. `case` comes from
    `selectors.inbox_rows` (customer, department, assignee, running clocks and latest sentiment loaded). Every
    value that is not Baton's own markup goes through `escape`."""
    pk, url, level = case.pk, reverse("case-detail", args=[case.pk]), case.escalation_level
    priority = escape(case.priority)
    level_badge = f' <span class="badge esc" title="Escalation level {level}">L{level}</span>' if level else ""
    customer = case.customer
    stage = (f' <span class="muted small">{escape(STAGE_LABELS.get(customer.stage, customer.stage))}</span>'
             if customer.stage != "prospect" else "")
    department = f'<span class="muted small">· {escape(case.department)}</span>' if multi_department else ""
    labels = f'<span class="chip">{escape(INTENT_LABELS.get(case.intent, case.intent))}</span>' if case.intent else ""
    sentiment = getattr(case, "latest_sentiment", None)
    if sentiment:
        labels += (f'<span class="chip {escape(sentiment)}">{SENTIMENT_MARKS.get(sentiment, "")}'
                   f'{escape(sentiment.capitalize())}</span>')
    clocks = getattr(case, "running_clocks", None)
    clock = clock_badge(clocks[0]) if clocks else '<span class="muted">no clock running</span>'
    assignee = (escape(case.assignee.get_full_name() or case.assignee.get_username()) if case.assignee
                else '<span class="muted">Unassigned</span>')
    return mark_safe(
        f'<tr class="priority-{priority}{" escalated" if level else ""}" id="case-{pk}" data-case="{pk}" '
        f'data-url="{url}">\n'
        f'  <td class="tick"><label><span class="visually-hidden">Tick case #{pk}</span><input type="checkbox" '
        f'name="case" value="{pk}" form="bulk-form"></label></td>\n'
        f'  <td class="priority"><span class="badge {priority}">'
        f'{escape(PRIORITY_LABELS.get(case.priority, case.priority))}</span>{level_badge}</td>\n'
        f'  <td class="case">\n'
        f'    <a class="case-link" href="{url}">#{pk}</a>\n'
        f'    <strong class="customer"><a href="{reverse("customer-detail", args=[case.customer_id])}">'
        f'{escape(customer)}</a></strong>{stage}\n'
        f'    {STATUS_BADGES.get(case.status, "")}\n'
        f'    {department}\n'
        f'    <br><span class="subject">{escape(Truncator(case.subject or "(no text)").chars(120))}</span>\n'
        f'  </td>\n'
        f'  <td class="labels">{labels}</td>\n'
        f'  <td class="sla">{clock}</td>\n'
        f'  <td class="assignee">{assignee}</td>\n'
        f'  <td class="opened" title="{minute(case.created_at)}">{escape(naturaltime(case.created_at))}</td>\n'
        f'</tr>\n'
    )
