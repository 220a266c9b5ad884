"""Notifications: in-app rows (the bell) and e-mails, sent after commit by a task.

Who hears of an escalation (domain guide): level 1, the assignee and the department's leads;
2, the leads; 3, the department's heads; 4, the board. A department without a lead falls back
to its heads and the other way round. Rows are unique per (escalation, user): one notification
per level and person, whatever is retried. A handoff and feedback up notify the members of the
receiving department (`notify_department`). A reply waiting for approval notifies its approvers, and
the author hears whether it was approved or rejected (why), through `notify_users`.

E-mails follow each person's `NotificationSettings`: each one at once, an hourly digest (the
default, `send_digests`), or none; and only for the kinds they chose (by default everything but
SLA warnings, which stay in the app). The notification page groups rows by case and kind, so a
case that escalates three times is one line with a count, marked read at once.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import CharField, Count, Max, Q, Value
from django.db.models.functions import Cast, Concat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from customers import privacy as customer_privacy
from feedback import dispatch
from feedback.sla.models import Notification, NotificationSettings
from teams.models import BoardSeat, Membership, Role

# A digest covers the notifications of the last day that were neither e-mailed nor read.
DIGEST_WINDOW = timedelta(days=1)


def email_choices(*, user_ids) -> dict[int, tuple[str, set[str]]]:
    """(mode, kinds) of each user's e-mail settings; the defaults for those who never chose. One query."""
    found = {
        row.user_id: (row.email_mode, set(row.email_kinds))
        for row in NotificationSettings.objects.filter(user_id__in=set(user_ids))
    }
    default = (NotificationSettings.Mode.DIGEST, set(NotificationSettings.DEFAULT_KINDS))
    return {user_id: found.get(user_id, default) for user_id in set(user_ids)}


def settings_for(*, user) -> NotificationSettings:
    """The user's settings (unsaved defaults when they never chose)."""
    return NotificationSettings.objects.filter(user=user).first() or NotificationSettings(
        user=user, email_kinds=list(NotificationSettings.DEFAULT_KINDS))


def save_settings(*, user, email_mode: str, email_kinds: list[str]) -> NotificationSettings:
    if email_mode not in NotificationSettings.Mode.values:
        raise ValueError(f"Unknown e-mail mode {email_mode!r}")
    kinds = [kind for kind in Notification.Kind.values if kind in set(email_kinds)]
    row, _ = NotificationSettings.objects.update_or_create(
        user=user, defaults={"email_mode": email_mode, "email_kinds": kinds})
    return row


def _email_at_once(rows: list[Notification]) -> None:
    """Enqueue the e-mails of the rows whose person wants this kind at once (after commit)."""
    if not rows:
        return
    with_email = set(
        get_user_model().objects.filter(pk__in={row.user_id for row in rows}).exclude(email="")
        .values_list("pk", flat=True)
    )
    choices = email_choices(user_ids=with_email)
    ids = [
        row.pk for row in rows
        if row.user_id in with_email and choices[row.user_id][0] == NotificationSettings.Mode.IMMEDIATE
        and row.kind in choices[row.user_id][1]
    ]
    if ids:
        dispatch.enqueue(dispatch.SEND_NOTIFICATION_EMAILS, ids)


def notify_users(*, user_ids, case, kind: str, text: str, now: datetime) -> list[int]:
    """Tell these people about `case` (one notification each, grouped with the others of the case and
    kind on their page). Inside the caller's transaction; e-mails after commit."""
    rows = Notification.objects.bulk_create([
        Notification(user_id=user_id, case_id=case.pk, kind=kind, text=text[:500], created_at=now)
        for user_id in dict.fromkeys(user_ids)
    ])
    _email_at_once(rows)
    return [row.pk for row in rows]


def notify_department(*, department, case, kind: str, text: str, by=None, now: datetime) -> list[int]:
    """Tell the members of `department` (not `by`, who did it) about `case`: a handoff waiting for
    them, feedback for them. Inside the caller's transaction; e-mails after commit."""
    user_ids = (
        Membership.objects.filter(department=department, user__is_active=True)
        .exclude(user_id=getattr(by, "pk", None)).order_by("user_id").values_list("user_id", flat=True).distinct()
    )
    return notify_users(user_ids=list(user_ids), case=case, kind=kind, text=text, now=now)


def settle_case_notifications(*, case_id: int, kind: str, now: datetime) -> int:
    """Mark everyone's unread notifications of one case and kind read: what they asked for is done
    (the case's last reply waiting for approval was decided), so nobody acts on it, nor gets it in a digest."""
    return Notification.objects.filter(case_id=case_id, kind=kind, read_at__isnull=True).update(read_at=now)

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
    _email_at_once(rows)
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


def send_digests(*, now: datetime | None = None) -> int:
    """One e-mail per person in digest mode with notifications of their kinds from the last day,
    neither e-mailed nor read: grouped by case and kind. Each row is e-mailed once (rows are taken
    with SKIP LOCKED and marked in the same transaction). Returns how many digests were sent."""
    now = now or timezone.now()
    candidates = (
        Notification.objects.filter(emailed_at__isnull=True, read_at__isnull=True, created_at__gte=now - DIGEST_WINDOW,
                                    created_at__lte=now)
        .exclude(user__email="").values_list("user_id", flat=True).distinct()
    )
    choices = email_choices(user_ids=list(candidates))
    sent = 0
    for user_id, (mode, kinds) in sorted(choices.items()):
        if mode != NotificationSettings.Mode.DIGEST or not kinds:
            continue
        with transaction.atomic():
            rows = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",)).select_related("case")
                .filter(user_id=user_id, kind__in=kinds, emailed_at__isnull=True, read_at__isnull=True,
                        created_at__gte=now - DIGEST_WINDOW, created_at__lte=now)
                .order_by("-created_at", "-id")
            )
            if not rows:
                continue
            user = get_user_model().objects.get(pk=user_id)
            _digest_email(user=user, rows=rows)
            Notification.objects.filter(pk__in=[row.pk for row in rows]).update(emailed_at=now)
            NotificationSettings.objects.update_or_create(user_id=user_id, defaults={"last_digest_at": now})
            sent += 1
    return sent


def _digest_email(*, user, rows: list[Notification]) -> None:
    groups: dict[tuple, list[Notification]] = defaultdict(list)
    for row in rows:
        groups[(row.case_id, row.kind)].append(row)
    context = {
        "user": user,
        "groups": [{"case_id": case_id, "kind": Notification.Kind(kind).label, "count": len(items),
                    "latest": items[0],
                    "case_url": reverse("case-detail", args=[case_id]) if case_id else ""}
                   for (case_id, kind), items in groups.items()],
        "total": len(rows),
        "site_url": settings.BATON_SITE_URL.rstrip("/"),
    }
    subject = " ".join(render_to_string("emails/digest.subject.txt", context).split())
    message = EmailMultiAlternatives(subject=subject, body=render_to_string("emails/digest.txt", context),
                                     from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email])
    message.attach_alternative(render_to_string("emails/digest.html", context), "text/html")
    message.send()


def notification_groups(*, user, kind: str = "", unread_only: bool = False):
    """The user's notifications grouped by case and kind, the group with the newest first: how
    many, how many unread, when the last came and its id (its text is read by `latest_texts`)."""
    rows = Notification.objects.filter(user=user)
    if kind:
        rows = rows.filter(kind=kind)
    groups = rows.values("case_id", "kind").annotate(
        count=Count("id"), unread=Count("id", filter=Q(read_at__isnull=True)), latest_at=Max("created_at"),
        latest_id=Max("id"),
    )
    if unread_only:
        groups = groups.filter(unread__gt=0)
    return groups.order_by("-latest_at", "-latest_id")


def latest_texts(*, ids) -> dict[int, str]:
    return dict(Notification.objects.filter(pk__in=list(ids)).values_list("pk", "text"))


def erase_customer_data(*, customer, placeholder: str = "[erased]") -> int:
    """The notifications' part of erasing a person (`feedback.linking.services.erase_customer` calls it in its
    transaction): the text of every notification about a case of theirs (the record and those merged into it)
    quoted their words, a handoff note or a reply; it keeps only the case number. Returns how many."""
    ids = customer_privacy.record_ids(customer=customer)
    return Notification.objects.filter(case__customer_id__in=ids).update(
        text=Concat(Value("Case #"), Cast("case_id", CharField()), Value(f": {placeholder}"), output_field=CharField()))


def mark_read(*, user, ids: list[int] | None = None, now: datetime | None = None,
              group: tuple[int | None, str] | None = None) -> int:
    """Mark the user's notifications read: those of `ids`, of one `group` (case id, kind), or all."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    if group is not None:
        case_id, kind = group
        unread = unread.filter(kind=kind, **({"case_id": case_id} if case_id else {"case__isnull": True}))
    return unread.update(read_at=now or timezone.now())


def unread_count(*, user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
