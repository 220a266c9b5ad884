"""The case timeline's entries: one typed constructor per `EventKind`, and one way to read them.

Writers never build `CaseEvent.data` by hand: they call a constructor here, which returns an
unsaved `CaseEvent` (so a batch can `bulk_create` many), and `add` one to save it:

    add(status_changed(case=case, from_=previous, to=to, reason=reason, actor=by, now=now))
    CaseEvent.objects.bulk_create([created(case=..., ...), mention_attached(case=..., ...)])

Readers (the timeline template, through the `describe` filter of `feedback.templatetags.timeline`)
call `describe(event)`, which knows every shape that was ever stored (older rows lack some keys).
The JSON shape of each kind is defined here only; the selectors below query it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from customers import timeline
from customers.models import TimelineKind
from feedback.board import upkeep
from feedback.cases.models import Case, CaseEvent, FeedbackNote, Handoff, Problem
from feedback.choices import ClockMetric, EventKind


def _event(*, case: Case | int, kind: str, now: datetime, actor=None, **data) -> CaseEvent:
    case_field = {"case_id": case} if isinstance(case, int) else {"case": case}
    return CaseEvent(kind=kind, actor=actor, data=data, created_at=now, **case_field)


def add(event: CaseEvent) -> CaseEvent:
    """Save one new event (built by a constructor below), with its line on the customer's timeline,
    and return it. The board's rollups of the case's day are marked for recomputation when the event
    changes what they count."""
    event.save(force_insert=True)
    timeline.record(entries=timeline_entries([event]))
    upkeep.touch_event(event)
    return event


def add_many(new_events: list[CaseEvent]) -> list[CaseEvent]:
    """Save new events in one INSERT, with their lines on the customers' timelines."""
    saved = CaseEvent.objects.bulk_create(new_events)
    timeline.record(entries=timeline_entries(saved))
    return saved


# How case events show on the customer's timeline (customers.timeline). Left out: mentions (the
# pipeline records every mention, attached to a case or not) and stage changes (move_stage records
# one per change, not one per open case).
TIMELINE_KINDS = {
    EventKind.CREATED: TimelineKind.CASE, EventKind.REPLY: TimelineKind.REPLY, EventKind.STATUS: TimelineKind.STATUS,
    EventKind.NOTE: TimelineKind.NOTE, EventKind.HANDOFF: TimelineKind.HANDOFF, EventKind.ACCEPTED: TimelineKind.HANDOFF,
    EventKind.RETURNED: TimelineKind.HANDOFF, EventKind.FEEDBACK: TimelineKind.NOTE,
    EventKind.ACKNOWLEDGED: TimelineKind.NOTE, EventKind.ESCALATION: TimelineKind.ESCALATION,
    EventKind.PROBLEM: TimelineKind.OTHER, EventKind.PROBLEM_FIX: TimelineKind.OTHER,
}


def timeline_entries(case_events: list[CaseEvent]) -> list[timeline.Entry]:
    """The customer-timeline lines of saved case events (one query for the cases not loaded)."""
    shown = [event for event in case_events if event.kind in TIMELINE_KINDS]
    missing = {event.case_id for event in shown if not CaseEvent.case.is_cached(event)}
    owners = {pk: (customer_id, department_id) for pk, customer_id, department_id in
              Case.objects.filter(pk__in=missing).values_list("pk", "customer_id", "department_id")} if missing else {}
    entries = []
    for event in shown:
        if CaseEvent.case.is_cached(event):
            customer_id, department_id = event.case.customer_id, event.case.department_id
        else:
            customer_id, department_id = owners.get(event.case_id, (None, None))
        description = describe(event)
        summary = f"{description.title}{description.text}"
        if description.link_text:
            summary += f" {description.link_text}"
        entries.append(timeline.Entry(
            customer_id=customer_id, at=event.created_at, kind=TIMELINE_KINDS[event.kind], summary=summary,
            text=description.quote, department_id=department_id, case_id=event.case_id, ref_type="caseevent",
            ref_id=event.pk, actor=str(event.actor) if event.actor_id else "",
        ))
    return entries


# --- Constructors: one per kind ----------------------------------------------------------------


def created(*, case: Case, department, priority: str, now: datetime) -> CaseEvent:
    return _event(case=case, kind=EventKind.CREATED, now=now,
                  department=department.slug, department_name=department.name, priority=priority)


def mention_attached(*, case: Case, mention, now: datetime) -> CaseEvent:
    return _event(case=case, kind=EventKind.MENTION, now=now, mention_id=mention.pk, text=mention.text[:500],
                  author=mention.author_handle, source=mention.source)


@dataclass(frozen=True)
class ChannelPost:
    """Where a reply seen on a channel came from (a brand reply posted outside Baton)."""

    source: str
    external_id: str
    in_reply_to: str
    url: str
    inbound_payload_id: int | None


@dataclass(frozen=True)
class Delivery:
    """A reply Baton sent (feedback.replies): which connector, and the platform's id of the post."""

    reply_id: int
    connector: str  # x, meta, outbox
    source: str  # the channel: x, facebook, instagram (outbox: the channel it would have gone to)
    platform_id: str
    url: str
    kind: str  # public, private


def reply(*, case: Case, text: str, actor, now: datetime, channel: ChannelPost | None = None,
          delivery: Delivery | None = None) -> CaseEvent:
    extra = {}
    if delivery is not None:
        # source + external_id as a channel reply stores them: the platform's echo of this post (a
        # webhook delivering the brand's own reply) is then recognised as already recorded.
        extra = {"via": "baton", "reply_id": delivery.reply_id, "connector": delivery.connector,
                 "source": delivery.source, "external_id": delivery.platform_id, "url": delivery.url,
                 "reply_kind": delivery.kind}
    if channel is not None:
        extra = {"via": "channel", "source": channel.source, "external_id": channel.external_id,
                 "in_reply_to": channel.in_reply_to, "url": channel.url,
                 "inbound_payload_id": channel.inbound_payload_id}
    return _event(case=case, kind=EventKind.REPLY, now=now, actor=actor, text=text, **extra)


@dataclass(frozen=True)
class Correction:
    """A person's label correction that a note records (feedback.understanding.labels)."""

    id: int
    mention_id: int
    label: str
    from_: str
    to: str


def note(*, case: Case | int, text: str, actor, now: datetime, correction: Correction | None = None) -> CaseEvent:
    extra = {}
    if correction is not None:
        extra["correction"] = {"id": correction.id, "mention_id": correction.mention_id, "label": correction.label,
                               "from": correction.from_, "to": correction.to}
    return _event(case=case, kind=EventKind.NOTE, now=now, actor=actor, text=text, **extra)


def reply_approval(*, case: Case, reply_id: int, decision: str, actor, now: datetime, reason: str = "",
                   edited: bool = False) -> CaseEvent:
    """A reply waits for approval (`decision` "submitted", with why), or an approver decided
    ("approved", "rejected" with the reason)."""
    return _event(case=case, kind=EventKind.APPROVAL, now=now, actor=actor, reply_id=reply_id, decision=decision,
                  reason=reason, edited=edited)


def send_failed(*, case: Case, reply_id: int, error: str, attempts: int, now: datetime) -> CaseEvent:
    """A reply could not be sent, after its retries."""
    return _event(case=case, kind=EventKind.SEND_FAILED, now=now, reply_id=reply_id, error=error[:500],
                  attempts=attempts)


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def flood_flagged(*, case: Case, author: str, limit: int, minutes: int, held: int, now: datetime) -> CaseEvent:
    """The flood guard held back posts of `author` from `case` (see `services.hold_floods`)."""
    return _event(case=case, kind=EventKind.NOTE, now=now,
                  flood={"author": author, "limit": limit, "minutes": minutes, "held": held},
                  text=f"Possible flood or bot: @{author} posted more than {limit} times to this case within "
                       f"{minutes} minutes. Their further posts in that window are stored but not attached here "
                       "(the admin's mention list has them).")


def _handoff_data(handoff: Handoff) -> dict:
    return {
        "handoff_id": handoff.pk,
        "from": handoff.from_department.slug, "to": handoff.to_department.slug,
        "from_name": handoff.from_department.name, "to_name": handoff.to_department.name,
    }


def _assignee_change(before, after) -> dict:
    """{"assignee": {"from": person, "to": person}} when a handoff moved the case's assignee (the audit log shows
    it), else nothing. `before`, `after`: users or None."""
    if (before.pk if before else None) == (after.pk if after else None):
        return {}
    return {"assignee": {"from": _person_ref(before), "to": _person_ref(after)}}


def handed_off(*, case: Case, handoff: Handoff, actor, now: datetime, assignee_before=None) -> CaseEvent:
    """`assignee_before`: who had the case (a handoff leaves it unassigned)."""
    return _event(case=case, kind=EventKind.HANDOFF, now=now, actor=actor, note=handoff.note,
                  **_handoff_data(handoff), **_assignee_change(assignee_before, None))


def handoff_accepted(*, case: Case, handoff: Handoff, actor, now: datetime, assignee=None) -> CaseEvent:
    """`assignee`: who the receiving department gave the case to (the accepting person, or its strategy's pick)."""
    return _event(case=case, kind=EventKind.ACCEPTED, now=now, actor=actor, **_handoff_data(handoff),
                  **_assignee_change(None, assignee))


def handoff_returned(*, case: Case, handoff: Handoff, actor, now: datetime, assignee_before=None) -> CaseEvent:
    return _event(case=case, kind=EventKind.RETURNED, now=now, actor=actor, reason=handoff.reason,
                  **_handoff_data(handoff), **_assignee_change(assignee_before, None))


def status_changed(*, case: Case, from_: str, to: str, reason: str, actor, now: datetime,
                   changes: dict | None = None) -> CaseEvent:
    """`changes`: other fields the same action changed, {"intent": {"from": ..., "to": ...}, ...} (marking spam
    sets the intent and the spam tag as it resolves)."""
    extra = {"changes": changes} if changes else {}
    return _event(case=case, kind=EventKind.STATUS, now=now, actor=actor,
                  **{"from": from_, "to": to, "reason": reason}, **extra)


def _person_ref(user) -> dict:
    if user is None:
        return {"id": None, "name": ""}
    return {"id": user.pk, "name": _person(user)}


def assigned(*, case: Case, from_, to, actor, now: datetime) -> CaseEvent:
    """The assignee changed: taken (`to` is the actor), assigned, or unassigned (`to` None). Names are
    stored: the timeline shows people."""
    return _event(case=case, kind=EventKind.ASSIGNED, now=now, actor=actor,
                  **{"from": _person_ref(from_), "to": _person_ref(to)})


def priority_changed(*, case: Case, from_: str, to: str, actor, now: datetime) -> CaseEvent:
    return _event(case=case, kind=EventKind.PRIORITY, now=now, actor=actor, **{"from": from_, "to": to})


def escalated(*, case: Case | int, level: int, metric: str, due_at: datetime, now: datetime) -> CaseEvent:
    return _event(case=case, kind=EventKind.ESCALATION, now=now, level=level, metric=metric,
                  due_at=due_at.isoformat())


def feedback_sent(*, case: Case, feedback: FeedbackNote, actor, now: datetime) -> CaseEvent:
    return _event(case=case, kind=EventKind.FEEDBACK, now=now, actor=actor, text=feedback.text,
                  feedback_id=feedback.pk,
                  **{"from": feedback.from_department.slug, "to": feedback.to_department.slug,
                     "from_name": feedback.from_department.name, "to_name": feedback.to_department.name})


def feedback_acknowledged(*, case: Case, feedback: FeedbackNote, actor, now: datetime) -> CaseEvent:
    return _event(case=case, kind=EventKind.ACKNOWLEDGED, now=now, actor=actor, feedback_id=feedback.pk,
                  department=feedback.to_department.slug, department_name=feedback.to_department.name)


def stage_changed(*, case: Case, from_: str, to: str, reason: str, actor, now: datetime) -> CaseEvent:
    return _event(case=case, kind=EventKind.STAGE, now=now, actor=actor, **{"from": from_, "to": to, "reason": reason})


def problem_linked(*, case: Case, problem: Problem, previous: int | None, actor, now: datetime) -> CaseEvent:
    return _event(case=case, kind=EventKind.PROBLEM, now=now, actor=actor, problem_id=problem.pk, title=problem.title,
                  owner=problem.owner_department.slug, owner_name=problem.owner_department.name, previous=previous)


def problem_fixed(*, case: Case, problem: Problem, note: str, resolved: bool, actor, now: datetime) -> CaseEvent:
    return _event(case=case, kind=EventKind.PROBLEM_FIX, now=now, actor=actor, problem_id=problem.pk,
                  title=problem.title, note=note, resolved=resolved)


# --- Selectors on the stored shape -----------------------------------------------------------


def channel_reply_recorded(*, case: Case, source: str, external_id: str) -> bool:
    """Whether the reply posted on `source` as `external_id` is already on the case's timeline."""
    return CaseEvent.objects.filter(case=case, kind=EventKind.REPLY, data__source=source,
                                    data__external_id=external_id).exists()


def channel_reply(*, case: Case, source: str, external_id: str) -> CaseEvent | None:
    """The reply entry a channel's webhook recorded for the post `external_id` on `source` (None: none)."""
    return CaseEvent.objects.filter(case=case, kind=EventKind.REPLY, data__via="channel", data__source=source,
                                    data__external_id=external_id).order_by("id").first()


def adopt_channel_reply(echoed: CaseEvent, sent: CaseEvent) -> CaseEvent:
    """The post a channel reported (`echoed`, saved) is the reply Baton sent (`sent`, unsaved): one entry, with
    the author and Baton's delivery, at the time the platform gave; which webhook delivery saw it first is kept
    (`inbound_payload_id`). Its line on the customer's timeline is rewritten to match."""
    echoed.actor = sent.actor
    echoed.data = {**sent.data, "inbound_payload_id": (echoed.data or {}).get("inbound_payload_id")}
    echoed.save(update_fields=["actor", "data"])
    timeline.rewrite(entries=timeline_entries([echoed]))
    return echoed


def correction_note(*, case: Case, correction_id: int) -> CaseEvent | None:
    """The note that recorded a label correction on the case's timeline."""
    return (CaseEvent.objects.filter(case=case, kind=EventKind.NOTE, data__correction__id=correction_id)
            .select_related("actor").first())


# --- Reading: what the timeline shows ---------------------------------------------------------


@dataclass(frozen=True)
class Description:
    """One timeline entry as the page shows it: a bold title, an optional link, a line of text,
    a muted hint and a quoted text. Plain strings: the template escapes them."""

    title: str
    text: str = ""
    link_url: str = ""
    link_text: str = ""
    hint: str = ""
    quote: str = ""
    quote_class: str = ""


_ESCALATION_OUTCOMES = {
    1: "clock passed its warning time; assignee and lead told",
    2: "clock breached; the lead is on it and priority went up a step",
    3: "clock well past due; department head told",
}


def _by(event: CaseEvent) -> str:
    return f" by {_person(event.actor)}" if event.actor_id else ""


def _in_brackets(event: CaseEvent) -> str:
    return f" ({_person(event.actor)})" if event.actor_id else ""


def _name(data: dict, key: str, *, capitalise: bool = False) -> str:
    """A department's name as stored, else its slug (rows older than stored names)."""
    name = data.get(f"{key}_name") or data.get(key) or ""
    return name[:1].upper() + name[1:] if capitalise else name


def _problem_link(data: dict) -> tuple[str, str]:
    problem_id = data.get("problem_id")
    if not problem_id:
        return "", ""
    return reverse("problem-detail", args=[problem_id]), f"#{problem_id} {data.get('title', '')}".strip()


def _reason(data: dict) -> str:
    return f": {data['reason']}" if data.get("reason") else ""


def describe(event: CaseEvent) -> Description:
    """What the timeline shows of `event`, whatever its kind and however old its row."""
    data = event.data or {}
    kind = event.kind
    if kind == EventKind.CREATED:
        return Description("Case created", f" in {_name(data, 'department', capitalise=True)}, "
                                           f"priority {data.get('priority', '')}")
    if kind == EventKind.MENTION:
        text = (f" as @{data['author']}" if data.get("author") else "") + (
            f" on {data['source'][:1].upper()}{data['source'][1:]}" if data.get("source") else "")
        return Description("Customer posted", text, quote=data.get("text", ""))
    if kind == EventKind.REPLY and data.get("via") == "baton":
        title = "Private message" if data.get("reply_kind") == "private" else "Public reply"
        if data.get("connector") == "outbox":
            where = ", written to the outbox (no connected account)"
        else:
            where = f", sent on {data.get('source', '')} as {data.get('external_id', '')}"
        return Description(title, f"{_by(event)}{where}", quote=data.get("text", ""),
                           link_url=data.get("url", ""), link_text="open" if data.get("url") else "")
    if kind == EventKind.REPLY:
        return Description("Public reply", _by(event), quote=data.get("text", ""))
    if kind == EventKind.APPROVAL:
        decision = data.get("decision")
        if decision == "submitted":
            return Description("Reply awaiting approval", _by(event), hint=data.get("reason", ""))
        if decision == "approved":
            return Description("Reply approved", _by(event) + (" (edited)" if data.get("edited") else ""))
        return Description("Reply rejected", _by(event), quote=data.get("reason", ""), quote_class="handoff-note")
    if kind == EventKind.SEND_FAILED:
        return Description("Reply not sent", f" after {data.get('attempts', '?')} attempt(s)",
                           quote=data.get("error", ""), quote_class="error")
    if kind == EventKind.NOTE and data.get("correction"):
        correction = data["correction"]
        verb = "confirmed" if correction.get("from") == correction.get("to") else "corrected"
        return Description(f"Label {verb}", _by(event), hint="(kept as a training example)",
                           quote=data.get("text", ""))
    if kind == EventKind.NOTE and data.get("flood"):
        return Description("Possible flood or bot", "", hint="(tagged possible-flood)", quote=data.get("text", ""),
                           quote_class="error")
    if kind == EventKind.NOTE:
        return Description("Internal note", _by(event), hint="(not shown to the customer)", quote=data.get("text", ""))
    if kind == EventKind.HANDOFF:
        return Description("Handed off", f" from {_name(data, 'from', capitalise=True)} to "
                                         f"{_name(data, 'to', capitalise=True)}{_by(event)}",
                           quote=data.get("note", ""), quote_class="handoff-note")
    if kind == EventKind.ACCEPTED:
        by_department = f" by {data['to_name']}" if data.get("to_name") else ""
        return Description("Handoff accepted", f"{by_department}{_in_brackets(event)}")
    if kind == EventKind.RETURNED:
        return Description("Handoff sent back", f" from {_name(data, 'to')} to {_name(data, 'from')}{_by(event)}",
                           quote=data.get("reason", ""), quote_class="handoff-note")
    if kind == EventKind.FEEDBACK:
        return Description("Feedback up", f" from {_name(data, 'from')} to {_name(data, 'to')}{_by(event)}",
                           quote=data.get("text", ""))
    if kind == EventKind.ACKNOWLEDGED:
        return Description("Feedback acknowledged", f" by {_name(data, 'department')}{_in_brackets(event)}")
    if kind == EventKind.STAGE:
        return Description("Customer stage",
                           f" {data.get('from', '')} → {data.get('to', '')}{_by(event)}{_reason(data)}")
    if kind == EventKind.STATUS:
        return Description("Status", f" {data.get('from', '')} → {data.get('to', '')}{_by(event)}{_reason(data)}")
    if kind == EventKind.PROBLEM:
        url, label = _problem_link(data)
        owner = f" (owned by {data['owner_name']})" if data.get("owner_name") else ""
        return Description("Linked to problem", f"{owner}{_by(event)}", link_url=url, link_text=label)
    if kind == EventKind.PROBLEM_FIX:
        url, label = _problem_link(data)
        hint = "" if data.get("resolved") else "(this case stays open: check whether it is fixed)"
        return Description("Problem resolved", _by(event), link_url=url, link_text=label, hint=hint,
                           quote=data.get("note", ""))
    if kind == EventKind.ASSIGNED:
        to = data.get("to") or {}
        before = (data.get("from") or {}).get("name")
        was = f" (was {before})" if before else ""
        if not to.get("id"):
            return Description("Unassigned", was + _by(event))
        if event.actor_id and event.actor_id == to["id"]:
            return Description("Taken", f" by {to.get('name', '')}{was}")
        return Description("Assigned", f" to {to.get('name', '')}{was}{_by(event)}")
    if kind == EventKind.PRIORITY:
        return Description("Priority", f" {data.get('from', '')} → {data.get('to', '')}{_by(event)}")
    if kind == EventKind.ESCALATION:
        level = data.get("level")
        metric = data.get("metric", "")
        metric_name = ClockMetric(metric).label.lower() if metric in ClockMetric.values else metric
        outcome = _ESCALATION_OUTCOMES.get(level, "urgent case breached; the board was told")
        return Description(f"Escalation level {level}", f": {metric_name} {outcome}")
    text = f": {data['text']}" if data.get("text") else ""
    return Description(event.get_kind_display(), f"{_by(event)}{text}")
