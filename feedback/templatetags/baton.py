from django import template
from django.utils import timezone

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
