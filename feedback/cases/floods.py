"""The flood guard of `services.attach_mentions`: an author who posts to one case more than
BATON_CASE_FLOOD_MENTIONS times within BATON_CASE_FLOOD_MINUTES (a possible flood or bot) does not grow it
without end. The posts past the limit are held: stored and processed, but not attached (no post, timeline entry
or clock on the case); the case is tagged `possible-flood`, with one timeline entry that says so.

Works on `services.Attachment` items (customer, department, mention, now, held).
"""

from datetime import datetime, timedelta

from django.conf import settings

from feedback.cases import events
from feedback.cases.models import Case
from feedback.intake.models import Mention

FLOOD_TAG = "possible-flood"


def hold_floods(attachments: list, cases: dict[tuple[int, int], Case]) -> None:
    """The flood guard: mark `held` each attachment whose author already has BATON_CASE_FLOOD_MENTIONS posts on
    the same case within the BATON_CASE_FLOOD_MINUTES before it (a possible flood or bot).

    `cases`: the case each (customer, department) goes to now; in one batch all of a key's posts go to one case
    (that one or a new one). One query. A held mention is stored and processed but not attached: it adds no
    post, timeline entry or clock to the case; `flag_floods` tags the case and says so on its timeline."""
    limit, window = settings.BATON_CASE_FLOOD_MENTIONS, timedelta(minutes=settings.BATON_CASE_FLOOD_MINUTES)
    if limit <= 0:
        return  # 0 turns the guard off
    key_of = {case.pk: key for key, case in cases.items()}
    recent: dict[tuple, list[datetime]] = {}
    for case_id, handle, at in Mention.objects.filter(
        case_id__in=list(key_of), received_at__gte=min(item.now for item in attachments) - window
    ).values_list("case_id", "author_handle", "received_at"):
        recent.setdefault((key_of[case_id], handle), []).append(at)
    for item in sorted(attachments, key=lambda item: item.now):
        times = recent.setdefault(((item.customer.pk, item.department.pk), item.mention.author_handle), [])
        times[:] = [at for at in times if at > item.now - window]
        item.held = len(times) >= limit
        if not item.held:
            times.append(item.now)


def flag_floods(held: list, cases: dict[tuple[int, int], Case]) -> None:
    """Tag each case that had posts held back `possible-flood`, with one timeline entry the first time."""
    flagged: dict[int, tuple] = {}
    for item in held:
        case = cases[(item.customer.pk, item.department.pk)]
        _, first, count = flagged.get(case.pk, (case, item, 0))
        flagged[case.pk] = (case, first, count + 1)
    entries = []
    for case, item, count in flagged.values():
        if FLOOD_TAG in case.tags:
            continue
        case.tags = [*case.tags, FLOOD_TAG]
        entries.append(events.flood_flagged(case=case, author=item.mention.author_handle, held=count, now=item.now,
                                            limit=settings.BATON_CASE_FLOOD_MENTIONS,
                                            minutes=settings.BATON_CASE_FLOOD_MINUTES))
    Case.objects.bulk_update([case for case, _, _ in flagged.values()], ["tags"])
    events.add_many(entries)
