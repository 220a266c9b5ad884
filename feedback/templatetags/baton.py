from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from feedback.choices import ClockMetric

register = template.Library()


def _duration(seconds: float) -> str:
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


@register.simple_tag
def pause_icon():
    return PAUSE_ICON


@register.filter
def clock_state(clock) -> str:
    if clock.stopped_at:
        return "met" if not clock.breached_at or clock.stopped_at <= clock.due_at else "stopped-late"
    if getattr(clock, "paused_at", None):
        return "paused"
    now = timezone.now()
    if now >= clock.due_at:
        return "breached"
    if now >= clock.warn_at:
        return "warning"
    return "ok"


@register.filter
def time_left(clock) -> str:
    if clock.stopped_at:
        late = clock.stopped_at > clock.due_at
        return f"{'met late' if late else 'met'} ({_duration((clock.stopped_at - clock.started_at).total_seconds())})"
    if getattr(clock, "paused_at", None):
        # Kept while paused; business minutes for a business-hours clock.
        left = (clock.remaining_minutes or 0) * 60
        unit = " business" if clock.business_hours else ""
        return f"paused, {_duration(left)}{unit} left" if left >= 0 else f"paused, {_duration(left)} overdue"
    left = (clock.due_at - timezone.now()).total_seconds()
    return f"{_duration(left)} left" if left >= 0 else f"{_duration(left)} overdue"


METRIC_LABELS = dict(ClockMetric.choices)
# The pause sign drawn, not typed: U+23F8 is missing from common fonts (it showed as a box). The state's word is
# always there too (the time left says "paused"): the icon is decoration, hidden from screen readers.
PAUSE_ICON = mark_safe('<svg class="icon" aria-hidden="true" focusable="false" viewBox="0 0 10 10" width="10" '
                       'height="10"><rect x="1.5" y="1" width="2.5" height="8"/><rect x="6" y="1" width="2.5" '
                       'height="8"/></svg> ')
CLOCK_MARKS = {"met": "✓ ", "breached": "! ", "stopped-late": "! ", "paused": PAUSE_ICON}
CLOCK_NOTES = {"warning": ": less than a quarter of the time left", "breached": ": past due, the lead has been told",
               "paused": ": paused while the case waits on the customer"}


@register.simple_tag
def clock_badge(clock):
    """One SLA clock as a badge: its state's colour and mark, the time left, the level; the details on hover. Written
    in Python: the inbox shows one per row (the template version was a fifth of the page's time)."""
    state, metric = clock_state(clock), METRIC_LABELS.get(clock.metric, clock.metric)
    title = f"{metric} "
    if state in ("met", "stopped-late"):
        title += f"stopped {minute(clock.stopped_at)}, "
    title += f"due {minute(clock.due_at)}{CLOCK_NOTES.get(state, '')}"
    if clock.business_hours:
        title += " (business hours)"
    if clock.escalation_level:
        title += f"; escalation level {clock.escalation_level}"
    level = format_html(' <span class="level">L{}</span>', clock.escalation_level) if clock.escalation_level else ""
    return format_html('<span class="clock {}" title="{}"><span class="metric">{}</span> {}{}{}</span>', state, title,
                       metric, CLOCK_MARKS.get(state, ""), time_left(clock), level)


def ago(moment, now=None) -> str:
    """How long ago, as the clocks say it ("3h 05m ago", "2d 4h ago"; "just now" under a minute)."""
    seconds = ((now or timezone.now()) - moment).total_seconds()
    return "just now" if seconds < 60 else f"{_duration(seconds)} ago"


def minute(moment) -> str:
    """A time as the templates' `date:'Y-m-d H:i'` shows it (in the current time zone), without its machinery."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""
