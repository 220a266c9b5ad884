"""The customer timeline (the 360 page): one denormalised row per thing that happened to a person.

Customers never reads feedback's tables, so feedback writes here: the pipeline records each
mention, `feedback.cases.events.add`/`add_many` record each case event (case opened, status,
reply, handoff, note, escalation), `journey.move_stage` the stage changes; `customers.merge`
records merges, and the CRM API records CRM updates (`crm_updated`). Reading is one index range
(`timeline_customer_at`, or `timeline_customer_kind_at` with a kind filter), newest first.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from . import bulk
from .models import TimelineEntry, TimelineKind


@dataclass(frozen=True)
class Entry:
    customer_id: int
    at: datetime
    kind: str
    summary: str
    text: str = ""
    department_id: int | None = None
    case_id: int | None = None
    ref_type: str = ""
    ref_id: int | None = None
    actor: str = ""


COLUMNS = ("customer_id", "at", "kind", "summary", "text", "department_id", "case_id", "ref_type", "ref_id", "actor")


def record(*, entries: Iterable[Entry]) -> int:
    """Write timeline entries (one INSERT for the lot; on PostgreSQL a COPY from bulk.COPY_MIN_ROWS entries, a
    tenth of bulk_create's Python). Returns how many."""
    rows = [
        (entry.customer_id, entry.at, entry.kind, entry.summary[:300], entry.text, entry.department_id, entry.case_id,
         entry.ref_type, entry.ref_id, (entry.actor or "")[:150])
        for entry in entries if entry.customer_id is not None
    ]
    if connection.vendor == "postgresql" and len(rows) >= bulk.COPY_MIN_ROWS:
        bulk.copy_rows(TimelineEntry, COLUMNS, rows)
    else:
        TimelineEntry.objects.bulk_create([TimelineEntry(**dict(zip(COLUMNS, row, strict=True))) for row in rows],
                                          batch_size=2000)
    return len(rows)


def rewrite(*, entries: Iterable[Entry]) -> int:
    """Replace the words and actor of the lines already written for these entries' records (`ref_type`, `ref_id`):
    a record that turned out to be another's (a brand reply seen on the channel that was Baton's own). Returns
    how many lines changed."""
    changed = 0
    for entry in entries:
        changed += TimelineEntry.objects.filter(ref_type=entry.ref_type, ref_id=entry.ref_id).update(
            kind=entry.kind, summary=entry.summary[:300], text=entry.text, actor=(entry.actor or "")[:150])
    return changed


def mention_posted(*, customer_id: int, mention_id: int, at: datetime, source: str, handle: str, text: str,
                   case_id: int | None, department_id: int | None) -> Entry:
    return Entry(customer_id=customer_id, at=at, kind=TimelineKind.MENTION,
                 summary=f"Posted on {source}" + (f" as @{handle}" if handle else ""), text=text[:2000],
                 case_id=case_id, department_id=department_id, ref_type="mention", ref_id=mention_id)


def merged(*, survivor_id: int, merged_id: int, merged_name: str, actor: str, at: datetime) -> Entry:
    return Entry(customer_id=survivor_id, at=at, kind=TimelineKind.MERGE,
                 summary=f"Merged record #{merged_id} ({merged_name}) into this one", actor=actor,
                 ref_type="customer", ref_id=merged_id)


def stage_changed(*, customer_id: int, from_: str, to: str, reason: str, actor: str, at: datetime,
                  case_id: int | None = None, department_id: int | None = None) -> Entry:
    return Entry(customer_id=customer_id, at=at, kind=TimelineKind.STAGE, summary=f"Stage {from_} → {to}",
                 text=reason, actor=actor, case_id=case_id, department_id=department_id, ref_type="customer",
                 ref_id=customer_id)


def crm_updated(*, customer_id: int, fields: Iterable[str], at: datetime, actor: str = "CRM") -> Entry:
    """A CRM write changed these fields (the API's upsert calls this with the changed field names)."""
    names = ", ".join(sorted(fields))
    return Entry(customer_id=customer_id, at=at, kind=TimelineKind.CRM, summary=f"CRM updated {names}"[:300],
                 actor=actor, ref_type="customer", ref_id=customer_id)


def purchase(*, customer_id: int, amount, at: datetime, actor: str, case_id: int | None,
             department_id: int | None) -> Entry:
    return Entry(customer_id=customer_id, at=at, kind=TimelineKind.CRM, summary=f"Purchase of {amount}: lifetime value updated",
                 actor=actor, case_id=case_id, department_id=department_id, ref_type="case", ref_id=case_id)


def anonymise(*, ref_type: str, ref_ids: list[int], summary: str) -> int:
    """Blank the words of the entries of these source rows (retention, erasure). Returns how many."""
    return TimelineEntry.objects.filter(ref_type=ref_type, ref_id__in=ref_ids).update(summary=summary, text="",
                                                                                      actor="")
