"""The audit log page: heads (their departments' settings and cases) and superusers (everything)."""

from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from config.query import int_param
from feedback.audit import selectors


def _day(value: str | None, *, end: bool = False):
    try:
        day = datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    moment = datetime.combine(day, time.max if end else time.min)
    return timezone.make_aware(moment)


def _text(value: str | None) -> str:
    """A search text: PostgreSQL text cannot hold NUL characters, so they are dropped."""
    return (value or "").replace("\x00", "").strip()[:100]


@login_required
def audit_log(request):
    if not selectors.may_read_audit_log(user=request.user):
        raise PermissionDenied("The audit log is for department heads and admins.")
    choices = selectors.choices()
    model = request.GET.get("model", "")
    filters = {
        "q": _text(request.GET.get("q")),
        "model": model if model in dict(choices) else "",
        "who": _text(request.GET.get("who")),
        "since": _day(request.GET.get("since")),
        "until": _day(request.GET.get("until"), end=True),
    }
    result = selectors.audit_log(user=request.user, page=int_param(request, "page", maximum=10_000) or 1, **filters)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "feedback/audit_log.html", {
        **result, "filters": filters, "raw": request.GET, "query": query.urlencode(),
        "model_choices": choices,
    })
