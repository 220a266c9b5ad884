"""The case actions of the audit log, read from the case timeline (`CaseEvent`), not copied elsewhere.

Every action people take on a case writes one timeline event that holds its before and after (see
`feedback.cases.events`): take, assign and unassign (`assigned`, the people by name), priority, status
(pending, resume, resolve, reopen, close; marking spam adds the intent and tags it set), hand off, accept
(with whom the case went to), send back, feedback up and its acknowledgement, the customer's stage, linking to
a problem and a problem's resolution, label corrections (notes with a `correction`) and reply approvals: the
events `cases.models.AUDITED_EVENTS` selects, which a partial index (`caseevent_audit`) walks newest first.
Rows without an actor are the system's (a customer writing again reopens a case).

A head sees the actions on the cases their departments hold now; a superuser all. A page costs a fixed
number of queries: the events with their actors and cases, the titles of problems a link replaced.
"""

from django.db.models import Q
from django.urls import reverse

from feedback.audit.entries import Change, Entry
from feedback.cases.models import AUDITED_EVENT_KINDS, AUDITED_EVENTS, CaseEvent, Problem
from feedback.choices import CaseStatus, EventKind, Intent, Label, Priority

KEY = "feedback.caseevent"
NAME = "case"

AUDITED_KINDS = AUDITED_EVENT_KINDS

_KIND_ACTIONS = {
    EventKind.PRIORITY: "priority changed", EventKind.HANDOFF: "handed off", EventKind.ACCEPTED: "handoff accepted",
    EventKind.RETURNED: "handoff sent back", EventKind.FEEDBACK: "feedback sent up",
    EventKind.ACKNOWLEDGED: "feedback acknowledged", EventKind.STAGE: "customer stage changed",
    EventKind.PROBLEM: "linked to a problem", EventKind.PROBLEM_FIX: "problem resolved",
}

# Words people search for (a query of three letters or more inside one of them, or one of them inside the query),
# and the events they mean, besides each kind's own label and the action names above.
_SEARCH_WORDS = {
    "take": Q(kind=EventKind.ASSIGNED), "taken": Q(kind=EventKind.ASSIGNED), "assign": Q(kind=EventKind.ASSIGNED),
    "unassign": Q(kind=EventKind.ASSIGNED, data__to__id=None),
    "resolve": Q(kind=EventKind.STATUS, data__to=CaseStatus.RESOLVED),
    "close": Q(kind=EventKind.STATUS, data__to=CaseStatus.CLOSED),
    "pending": Q(kind=EventKind.STATUS, data__to=CaseStatus.PENDING),
    "resume": Q(kind=EventKind.STATUS, data__from=CaseStatus.PENDING, data__to=CaseStatus.OPEN),
    "reopen": Q(kind=EventKind.STATUS, data__from__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED],
                data__to=CaseStatus.OPEN),
    "spam": Q(kind=EventKind.STATUS, data__changes__intent__to=Intent.SPAM_TROLL),
    "correct": Q(kind=EventKind.NOTE), "confirm": Q(kind=EventKind.NOTE), "label": Q(kind=EventKind.NOTE),
    "approv": Q(kind=EventKind.APPROVAL), "reject": Q(kind=EventKind.APPROVAL, data__decision="rejected"),
    "send back": Q(kind=EventKind.RETURNED), "sent back": Q(kind=EventKind.RETURNED),
    "accept": Q(kind=EventKind.ACCEPTED), "hand": Q(kind=EventKind.HANDOFF), "stage": Q(kind=EventKind.STAGE),
    "problem": Q(kind__in=[EventKind.PROBLEM, EventKind.PROBLEM_FIX]),
}


def rows(*, department_ids: list[int] | None):
    """The audited events `department_ids` may read (None: all of them)."""
    events = CaseEvent.objects.filter(AUDITED_EVENTS)
    if department_ids is not None:
        events = events.filter(case__department_id__in=department_ids)
    return events


def _person_match(prefix: str, text: str) -> Q:
    return (Q(**{f"{prefix}username__icontains": text}) | Q(**{f"{prefix}first_name__icontains": text})
            | Q(**{f"{prefix}last_name__icontains": text}))


def by_person(events, who: str):
    return events.filter(_person_match("actor__", who))


def search(events, q: str):
    """Events whose values (people, departments, priorities, reasons, notes...), actor, case number or kind
    match `q`."""
    match = Q(data__icontains=q) | _person_match("actor__", q) | Q(case__department__name__icontains=q)
    number = q.lstrip("#")
    if number.isascii() and number.isdigit() and len(number) < 10:  # not "²", which isdigit() takes
        match |= Q(case_id=int(number))
    lowered = q.lower()
    if len(lowered) >= 3:
        kinds = {kind for kind in AUDITED_KINDS if lowered in kind.label.lower()}
        kinds |= {kind for kind, action in _KIND_ACTIONS.items() if lowered in action}
        if kinds:
            match |= Q(kind__in=kinds)
        for word, meant in _SEARCH_WORDS.items():
            if word in lowered or lowered in word:
                match |= meant
    return events.filter(match)


def page_rows(events, limit: int) -> list[CaseEvent]:
    return list(events.select_related("actor", "case__department").order_by("-created_at", "-id")[:limit])


def entries(found: list[CaseEvent]) -> list[Entry]:
    """The audit entries of events (as `page_rows` loads them), in their order; one more query at most."""
    replaced = {event.data.get("previous") for event in found
                if event.kind == EventKind.PROBLEM and isinstance(event.data.get("previous"), int)}
    titles = dict(Problem.objects.filter(pk__in=replaced).values_list("pk", "title")) if replaced else {}
    return [_entry(event, titles) for event in found]


def _label(choices, value) -> str:
    if value in (None, ""):
        return "—"
    return str(choices(value).label) if value in choices.values else str(value)


def _name(person) -> str:
    return (person or {}).get("name") or "—"


def _assignee(data: dict) -> list[Change]:
    moved = data.get("assignee")
    if not moved:
        return []
    return [Change("assignee", _name(moved.get("from")), _name(moved.get("to")))]


def _department(data: dict, key: str) -> str:
    """A department's name as the event stored it, else its slug (older rows)."""
    return data.get(f"{key}_name") or data.get(key) or "—"


def _handoff(data: dict, *, moved: tuple[str, str] | None, before: str, after: str) -> list[Change]:
    """A handoff's changes: the department the case moved from and to (`moved`: the keys of the two, or None),
    the handoff's state, and the assignee when it changed."""
    changes = [Change("department", _department(data, moved[0]), _department(data, moved[1]))] if moved else []
    return [*changes, Change("handoff", before, after), *_assignee(data)]


def _problem(problem_id, title) -> str:
    return f"#{problem_id} {title or ''}".strip() if problem_id else "—"


def _status_action(before: str, after: str) -> str:
    if after in (CaseStatus.PENDING, CaseStatus.RESOLVED, CaseStatus.CLOSED):
        return {CaseStatus.PENDING: "set pending", CaseStatus.RESOLVED: "resolved", CaseStatus.CLOSED: "closed"}[after]
    if after == CaseStatus.OPEN:
        return {CaseStatus.PENDING: "resumed", CaseStatus.NEW: "opened"}.get(before, "reopened")
    return "status changed"


def _changes(event: CaseEvent, titles: dict) -> tuple[str, list[Change], str]:
    """(action, changes, reason) of one event."""
    data = event.data or {}
    kind = event.kind
    if kind == EventKind.ASSIGNED:
        before, after = data.get("from") or {}, data.get("to") or {}
        action = ("unassigned" if not after.get("id")
                  else "taken" if event.actor_id and event.actor_id == after.get("id") else "assigned")
        return action, [Change("assignee", _name(before), _name(after))], ""
    if kind == EventKind.PRIORITY:
        return _KIND_ACTIONS[kind], [Change("priority", _label(Priority, data.get("from")),
                                            _label(Priority, data.get("to")))], ""
    if kind == EventKind.STATUS:
        before, after = data.get("from"), data.get("to")
        action = _status_action(before, after)
        changes = [Change("status", _label(CaseStatus, before), _label(CaseStatus, after))]
        other = data.get("changes") or {}
        if "intent" in other:
            changes.append(Change("intent", _label(Intent, other["intent"].get("from")),
                                  _label(Intent, other["intent"].get("to"))))
            action = "marked as spam" if other["intent"].get("to") == Intent.SPAM_TROLL else action
        if "tags" in other:
            changes.append(Change("tags", ", ".join(other["tags"].get("from") or []) or "—",
                                  ", ".join(other["tags"].get("to") or []) or "—"))
        return action, changes, data.get("reason", "")
    if kind == EventKind.HANDOFF:
        return _KIND_ACTIONS[kind], _handoff(data, moved=("from", "to"), before="—", after="waiting for acceptance"), \
            data.get("note", "")
    if kind == EventKind.ACCEPTED:
        return _KIND_ACTIONS[kind], _handoff(data, moved=None, before="waiting for acceptance", after="accepted"), ""
    if kind == EventKind.RETURNED:
        return _KIND_ACTIONS[kind], _handoff(data, moved=("to", "from"), before="waiting for acceptance",
                                             after="sent back"), data.get("reason", "")
    if kind == EventKind.FEEDBACK:
        return _KIND_ACTIONS[kind], [Change("feedback to", "—", _department(data, "to"))], data.get("text", "")
    if kind == EventKind.ACKNOWLEDGED:
        return _KIND_ACTIONS[kind], [Change("feedback", "unread",
                                            f"acknowledged by {_department(data, 'department')}")], ""
    if kind == EventKind.STAGE:
        return _KIND_ACTIONS[kind], [Change("customer stage", data.get("from") or "—", data.get("to") or "—")], \
            data.get("reason", "")
    if kind == EventKind.PROBLEM:
        previous = data.get("previous")
        return _KIND_ACTIONS[kind], [Change("problem", _problem(previous, titles.get(previous)),
                                            _problem(data.get("problem_id"), data.get("title")))], ""
    if kind == EventKind.PROBLEM_FIX:
        changes = [Change(f"problem {_problem(data.get('problem_id'), data.get('title'))}", "open", "resolved")]
        if not data.get("resolved"):
            changes.append(Change("case", "open", "left open"))
        return _KIND_ACTIONS[kind], changes, data.get("note", "")
    if kind == EventKind.APPROVAL:
        decision = data.get("decision", "")
        after = {"submitted": "awaiting approval", "approved": "approved", "rejected": "rejected"}.get(decision,
                                                                                                     decision)
        if decision == "approved" and data.get("edited"):
            after = "approved with edits"
        before = "—" if decision == "submitted" else "awaiting approval"
        action = {"submitted": "reply sent for approval", "approved": "reply approved",
                  "rejected": "reply rejected"}.get(decision, "reply approval")
        return action, [Change(f"reply #{data.get('reply_id', '?')}", before, after)], data.get("reason", "")
    if kind == EventKind.NOTE and data.get("correction"):
        correction = data["correction"]
        label = correction.get("label", "")
        name = str(Label(label).label).lower() if label in Label.values else label
        same = correction.get("from") == correction.get("to")
        return ("label confirmed" if same else "label corrected"), [
            Change(f"{name} of mention #{correction.get('mention_id', '?')}", correction.get("from") or "—",
                   correction.get("to") or "—")], ""
    return event.get_kind_display().lower(), [], data.get("text", "")


def _entry(event: CaseEvent, titles: dict) -> Entry:
    action, changes, reason = _changes(event, titles)
    actor = event.actor
    department = event.case.department.name if event.case_id and event.case.department_id else ""
    return Entry(
        when=event.created_at,
        who=(actor.get_full_name() or actor.get_username()) if actor else "the system",
        action=action,
        model=NAME,
        model_key=KEY,
        object_name=f"#{event.case_id}" + (f" ({department})" if department else ""),
        object_id=event.case_id,
        reason=reason,
        changes=changes,
        url=reverse("case-detail", args=[event.case_id]),
    )
