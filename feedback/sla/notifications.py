"""Notifications: in-app rows (the bell) and one email each, sent after commit by a task.

Who hears of an escalation (domain guide): level 1, the assignee and the department's leads;
2, the leads; 3, the department's heads; 4, the board. A department without a lead falls back
to its heads and the other way round. Rows are unique per (escalation, user): one notification
per level and person, whatever is retried.
"""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from feedback import dispatch
from feedback.sla.models import Notification
from teams.models import BoardSeat, Membership, Role

KIND_BY_LEVEL = {
    1: Notification.Kind.SLA_WARNING,
    2: Notification.Kind.SLA_BREACH,
    3: Notification.Kind.SLA_HEAD,
    4: Notification.Kind.SLA_BOARD,
}
PHRASE_BY_LEVEL = {
    1: "passed its warning time",
    2: "breached: the case is now with the lead",
    3: "is past due by half its target again",
    4: "breached on an urgent case",
}


def notify_escalations(*, escalations: list, now: datetime) -> list[int]:
    """Create the notifications of fresh escalations, given as (Escalation, clock, case) triples,
    inside the sweep's transaction; enqueue their emails after commit. A few queries per batch."""
    if not escalations:
        return []
    department_ids = {case.department_id for _, _, case in escalations}
    staff: dict[tuple[int, str], list[int]] = {}
    for department_id, user_id, role in Membership.objects.filter(
        department_id__in=department_ids, role__in=[Role.LEAD, Role.HEAD]
    ).order_by("user_id").values_list("department_id", "user_id", "role"):
        staff.setdefault((department_id, role), []).append(user_id)
    board = (
        list(BoardSeat.objects.values_list("user_id", flat=True))
        if any(row.level == 4 for row, _, _ in escalations) else []
    )

    rows = []
    for escalation, clock, case in escalations:
        leads = staff.get((case.department_id, Role.LEAD), [])
        heads = staff.get((case.department_id, Role.HEAD), [])
        if escalation.level == 1:
            users = ([case.assignee_id] if case.assignee_id else []) + (leads or heads)
        elif escalation.level == 2:
            users = leads or heads
        elif escalation.level == 3:
            users = heads or leads
        else:
            users = board
        text = (f"Case #{case.pk}: the {clock.get_metric_display().lower()} clock "
                f"{PHRASE_BY_LEVEL[escalation.level]}.")
        if case.subject:
            text = f"{text} {case.subject}"[:500]
        for user_id in dict.fromkeys(users):
            rows.append(Notification(user_id=user_id, case_id=case.pk, escalation=escalation,
                                     kind=KIND_BY_LEVEL[escalation.level], text=text, created_at=now))
    Notification.objects.bulk_create(rows)
    with_email = set(
        get_user_model().objects.filter(pk__in={row.user_id for row in rows}).exclude(email="")
        .values_list("pk", flat=True)
    )
    ids = [row.pk for row in rows if row.user_id in with_email]
    if ids:
        dispatch.enqueue(dispatch.SEND_NOTIFICATION_EMAILS, ids)
    return [row.pk for row in rows]


def send_emails(*, notification_ids: list[int]) -> int:
    """Email each notification once: a notification already emailed (or taken by another
    worker right now) is skipped. Returns how many were sent."""
    sent = 0
    for notification_id in notification_ids:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user", "case")
                .filter(pk=notification_id, emailed_at__isnull=True)
                .first()
            )
            if notification is None or not notification.user.email:
                continue
            _email(notification)
            notification.emailed_at = timezone.now()
            notification.save(update_fields=["emailed_at"])
            sent += 1
    return sent


def _email(notification: Notification) -> None:
    context = {
        "notification": notification,
        "user": notification.user,
        "case": notification.case,
        "case_url": reverse("case-detail", args=[notification.case_id]) if notification.case_id else "",
        "site_url": settings.BATON_SITE_URL.rstrip("/"),
    }
    base = f"emails/{notification.kind}"
    subject = " ".join(render_to_string(f"{base}.subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string(f"{base}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[notification.user.email],
    )
    message.attach_alternative(render_to_string(f"{base}.html", context), "text/html")
    message.send()


def mark_read(*, user, ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Mark the user's notifications read (all unread ones when `ids` is None)."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=now or timezone.now())


def unread_count(*, user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
