"""The inbox's hot spots, written directly instead of through the template engine (which renders each
variable, filter and include on its own: most of the page's time at 50 rows):

- `{% fast_select bound_field %}`: a <select> for the inbox's many filter and bulk-action selects (Django's
  widget templates render each <option> through the template engine: about a fifth of the page's time);
- `{% inbox_row case multi_department %}`: one row of the list (the template took 40-60 ms for 50 rows, this
  about 7 ms).
"""

import html

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from customers.models import Stage
from feedback.choices import Intent, Priority
from feedback.templatetags.baton import ago, clock_badge, minute

register = template.Library()


def _escape(value) -> str:
    return html.escape(str(value))


def _first_chars(text: str, limit: int) -> str:
    """`truncatechars`: the text, or its first limit - 1 characters and an ellipsis."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


@register.simple_tag
def fast_select(bound_field):
    value = bound_field.value()
    values = value if isinstance(value, list | tuple) else [value]
    selected = {str(item) for item in values if item not in (None, "")}
    options = "".join(
        f'<option value="{_escape(key)}"{" selected" if str(key) in selected else ""}>{_escape(label)}</option>'
        for key, label in bound_field.field.choices
    )
    return mark_safe(f'<select name="{_escape(bound_field.html_name)}" id="{_escape(bound_field.auto_id)}">{options}'
                     "</select>")


STATUS_BADGES = {"pending": '<span class="status pending">Pending</span>', "new": '<span class="status new">New</span>'}
SENTIMENT_MARKS = {"negative": "− ", "positive": "+ "}
# The choices' labels, looked up once (a model's get_FOO_display builds its dict on every call).
PRIORITY_LABELS, INTENT_LABELS, STAGE_LABELS = dict(Priority.choices), dict(Intent.choices), dict(Stage.choices)


def _per_render(context) -> tuple:
    """The case and customer page addresses, reversed once per render (a `reverse` is a few dozen microseconds,
    twice a row) as (prefix, suffix) pairs an id goes between, and the time the rows' ages count from."""
    cached = context.render_context.get(_per_render)
    if cached is None:
        urls = [tuple(reverse(name, args=[_SLOT]).split(str(_SLOT))) for name in ("case-detail", "customer-detail")]
        cached = context.render_context[_per_render] = (*urls, timezone.now())
    return cached


_SLOT = 987654321


@register.simple_tag(takes_context=True)
def inbox_row(context, case, multi_department: bool = False):
    """One inbox row: tick box, priority and level, case and customer (stage, status, department when the user
    has several), first line, intent and sentiment, nearest clock, assignee, age. `case` comes from
    `selectors.inbox_rows` (customer, department, assignee, running clocks and latest sentiment loaded). Every
    value that is not Baton's own markup is escaped (the standard library's `html.escape`, as Django's `escape`
    calls it, without its lazy-string wrapper: a dozen values a row)."""
    case_url, customer_url, now = _per_render(context)
    pk, level = case.pk, case.escalation_level
    url = f"{case_url[0]}{pk}{case_url[1]}"
    priority = _escape(case.priority)
    level_badge = f' <span class="badge esc" title="Escalation level {level}">L{level}</span>' if level else ""
    customer = case.customer
    stage = (f' <span class="muted small">{_escape(STAGE_LABELS.get(customer.stage, customer.stage))}</span>'
             if customer.stage != "prospect" else "")
    department = f'<span class="muted small">· {_escape(case.department)}</span>' if multi_department else ""
    labels = f'<span class="chip">{_escape(INTENT_LABELS.get(case.intent, case.intent))}</span>' if case.intent else ""
    sentiment = getattr(case, "latest_sentiment", None)
    if sentiment:
        labels += (f'<span class="chip {_escape(sentiment)}">{SENTIMENT_MARKS.get(sentiment, "")}'
                   f'{_escape(sentiment.capitalize())}</span>')
    clocks = getattr(case, "running_clocks", None)
    clock = clock_badge(clocks[0]) if clocks else '<span class="muted">no clock running</span>'
    assignee = (_escape(case.assignee.get_full_name() or case.assignee.get_username()) if case.assignee
                else '<span class="muted">Unassigned</span>')
    return mark_safe(
        f'<tr class="priority-{priority}{" escalated" if level else ""}" id="case-{pk}" data-case="{pk}" '
        f'data-url="{url}">\n'
        f'  <td class="tick"><label><span class="visually-hidden">Tick case #{pk}</span><input type="checkbox" '
        f'name="case" value="{pk}" form="bulk-form"></label></td>\n'
        f'  <td class="priority"><span class="badge {priority}">'
        f'{_escape(PRIORITY_LABELS.get(case.priority, case.priority))}</span>{level_badge}</td>\n'
        f'  <td class="case">\n'
        f'    <a class="case-link" href="{url}">#{pk}</a>\n'
        f'    <strong class="customer"><a href="{customer_url[0]}{case.customer_id}{customer_url[1]}">'
        f'{_escape(customer)}</a></strong>{stage}\n'
        f'    {STATUS_BADGES.get(case.status, "")}\n'
        f'    {department}\n'
        f'    <br><span class="subject">{_escape(_first_chars(case.subject or "(no text)", 120))}</span>\n'
        f'  </td>\n'
        f'  <td class="labels">{labels}</td>\n'
        f'  <td class="sla">{clock}</td>\n'
        f'  <td class="assignee">{assignee}</td>\n'
        f'  <td class="opened" title="{minute(case.created_at)}">{ago(case.created_at, now)}</td>\n'
        f'</tr>\n'
    )
