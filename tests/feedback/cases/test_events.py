"""Timeline entries (feedback/cases/events.py): the stored shape of each kind, and what the page
shows of new rows, of rows stored before the constructors existed, and of odd rows."""

from datetime import UTC, datetime

import pytest
from django.template.loader import render_to_string

from feedback.cases import events
from feedback.cases.models import CaseEvent, FeedbackNote, Handoff, Problem
from feedback.choices import EventKind
from tests.factories import CaseFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _render(event) -> str:
    return " ".join(render_to_string("feedback/partials/_timeline_event.html", {"event": event}).split())


@pytest.fixture
def case():
    return CaseFactory()


@pytest.fixture
def agent():
    return UserFactory(username="dana")


def _handoff(case, agent, **extra):
    return Handoff.objects.create(case=case, from_department=department("service"), to_department=department("sales"),
                                  note="Wants an upgrade.", by=agent, created_at=NOW, **extra)


def test_each_kind_has_a_constructor_and_its_stored_shape_is_the_one_older_rows_have(case, agent):
    mention = MentionFactory(author_handle="kim", text="@airline where is my bag")
    handoff = _handoff(case, agent, reason="A refund, not a sale.")
    feedback = FeedbackNote.objects.create(case=case, from_department=department("service"),
                                           to_department=department("sales"), text="Promise was wrong.", by=agent,
                                           created_at=NOW)
    problem = Problem.objects.create(title="Bag belt down", owner_department=department("service"))
    due = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    built = [
        events.created(case=case, department=department("service"), priority="high", now=NOW),
        events.mention_attached(case=case, mention=mention, now=NOW),
        events.note(case=case, text="Gold tier.", actor=agent, now=NOW),
        events.handed_off(case=case, handoff=handoff, actor=agent, now=NOW),
        events.handoff_accepted(case=case, handoff=handoff, actor=agent, now=NOW),
        events.reply(case=case, text="On it.", actor=agent, now=NOW),
        events.status_changed(case=case, from_="new", to="open", reason="First reply sent.", actor=agent, now=NOW),
        events.escalated(case=case.pk, level=2, metric="first_reply", due_at=due, now=NOW),
        events.handoff_returned(case=case, handoff=handoff, actor=agent, now=NOW),
        events.feedback_sent(case=case, feedback=feedback, actor=agent, now=NOW),
        events.feedback_acknowledged(case=case, feedback=feedback, actor=agent, now=NOW),
        events.stage_changed(case=case, from_="lead", to="customer", reason="Bought.", actor=agent, now=NOW),
        events.problem_linked(case=case, problem=problem, previous=None, actor=agent, now=NOW),
        events.problem_fixed(case=case, problem=problem, note="Belt fixed.", resolved=True, actor=agent, now=NOW),
        events.assigned(case=case, from_=None, to=agent, actor=agent, now=NOW),
        events.priority_changed(case=case, from_="normal", to="high", actor=agent, now=NOW),
        events.reply_approval(case=case, reply_id=3, decision="rejected", reason="Not yet.", actor=agent, now=NOW),
        events.send_failed(case=case, reply_id=3, error="X answered 503: Service Unavailable", attempts=5, now=NOW),
    ]
    assert [event.kind for event in built] == list(EventKind.values)  # one constructor per kind
    assert all(event.pk is None for event in built)  # unsaved: a batch bulk_creates them
    CaseEvent.objects.bulk_create(built)
    stored = {event.kind: event.data for event in CaseEvent.objects.filter(case=case)}
    service, sales = department("service").name, department("sales").name
    names = {"from": "service", "to": "sales", "from_name": service, "to_name": sales}
    assert stored == {
        "created": {"department": "service", "department_name": service, "priority": "high"},
        "mention": {"mention_id": mention.pk, "text": "@airline where is my bag", "author": "kim", "source": "x"},
        "note": {"text": "Gold tier."},
        "handoff": {"note": "Wants an upgrade.", "handoff_id": handoff.pk, **names},
        "accepted": {"handoff_id": handoff.pk, **names},
        "reply": {"text": "On it."},
        "status": {"from": "new", "to": "open", "reason": "First reply sent."},
        "escalation": {"level": 2, "metric": "first_reply", "due_at": "2026-11-20T13:00:00+00:00"},
        "returned": {"reason": "A refund, not a sale.", "handoff_id": handoff.pk, **names},
        "feedback": {"text": "Promise was wrong.", "feedback_id": feedback.pk, **names},
        "acknowledged": {"feedback_id": feedback.pk, "department": "sales", "department_name": sales},
        "stage": {"from": "lead", "to": "customer", "reason": "Bought."},
        "problem": {"problem_id": problem.pk, "title": "Bag belt down", "owner": "service", "owner_name": service,
                    "previous": None},
        "problem_fix": {"problem_id": problem.pk, "title": "Bag belt down", "note": "Belt fixed.", "resolved": True},
        "assigned": {"from": {"id": None, "name": ""}, "to": {"id": agent.pk, "name": agent.get_username()}},
        "priority": {"from": "normal", "to": "high"},
        "approval": {"reply_id": 3, "decision": "rejected", "reason": "Not yet.", "edited": False},
        "send_failed": {"reply_id": 3, "error": "X answered 503: Service Unavailable", "attempts": 5},
    }
    pages = {event.kind: _render(event) for event in CaseEvent.objects.filter(case=case).select_related("actor")}
    assert f"<strong>Case created</strong> in {service}, priority high" in pages["created"]
    assert "<strong>Customer posted</strong> as @kim on X <blockquote>@airline where is my bag</blockquote>" in pages[
        "mention"]
    assert f"<strong>Handed off</strong> from {service} to {sales} by dana" in pages["handoff"]
    assert '<blockquote class="handoff-note">Wants an upgrade.</blockquote>' in pages["handoff"]
    assert f"<strong>Handoff accepted</strong> by {sales} (dana)" in pages["accepted"]
    assert f"<strong>Handoff sent back</strong> from {sales} to {service} by dana" in pages["returned"]
    assert "<strong>Status</strong> new → open by dana: First reply sent." in pages["status"]
    assert "<strong>Escalation level 2</strong>: first reply clock breached" in pages["escalation"]
    assert f'<a href="/problems/{problem.pk}/">#{problem.pk} Bag belt down</a> (owned by {service}) by dana' in pages[
        "problem"]
    assert "(this case stays open" not in pages["problem_fix"]
    assert "<strong>Taken</strong> by dana" in pages["assigned"]
    assert "<strong>Priority</strong> normal → high by dana" in pages["priority"]
    assert '<strong>Reply rejected</strong> by dana' in pages["approval"]
    assert "<strong>Reply not sent</strong> after 5 attempt(s)" in pages["send_failed"]
    assert "<strong>Internal note</strong> by dana <span class=\"muted small\">(not shown to the customer)" in pages[
        "note"]


def test_a_label_correction_note_reads_as_a_correction(case, agent):
    event = events.add(events.note(case=case.pk, text="Corrected the intent.", actor=agent, now=NOW,
                                   correction=events.Correction(id=7, mention_id=3, label="intent", from_="question",
                                                                to="complaint")))
    assert event.pk is not None
    assert events.correction_note(case=case, correction_id=7) == event
    assert events.describe(event).title == "Label corrected"
    assert "(kept as a training example)" in _render(event)


def test_a_channel_reply_is_found_by_its_source_and_external_id(case):
    channel = events.ChannelPost(source="x", external_id="99", in_reply_to="98", url="https://x.com/a/99",
                                 inbound_payload_id=None)
    events.add(events.reply(case=case, text="Sorry!", actor=None, now=NOW, channel=channel))
    assert events.channel_reply_recorded(case=case, source="x", external_id="99")
    assert not events.channel_reply_recorded(case=case, source="x", external_id="100")
    assert CaseEvent.objects.get(case=case).data["via"] == "channel"


def test_rows_stored_before_department_names_were_kept_still_render(case):
    old = [
        CaseEvent(case=case, kind=EventKind.CREATED, created_at=NOW, data={"department": "after-sales",
                                                                           "priority": "normal"}),
        CaseEvent(case=case, kind=EventKind.HANDOFF, created_at=NOW,
                  data={"from": "service", "to": "sales", "note": "Upgrade."}),
        CaseEvent(case=case, kind=EventKind.ESCALATION, created_at=NOW, data={"level": 4, "metric": "resolution"}),
        CaseEvent(case=case, kind=EventKind.PROBLEM_FIX, created_at=NOW,
                  data={"problem_id": 5, "title": "Belt", "note": "Fixed.", "resolved": False}),
    ]
    created, handoff, escalation, fix = (_render(event) for event in CaseEvent.objects.bulk_create(old))
    assert "in After-sales, priority normal" in created
    assert "<strong>Handed off</strong> from Service to Sales" in handoff
    assert "<strong>Escalation level 4</strong>: resolution urgent case breached; the board was told" in escalation
    assert '(this case stays open: check whether it is fixed)' in fix


@pytest.mark.parametrize("kind", EventKind.values)
def test_every_kind_renders_even_with_no_data(case, kind):
    html = _render(CaseEvent.objects.create(case=case, kind=kind, data={}, created_at=NOW))
    assert f'class="event event-{kind}"' in html
    assert f"<strong>{events.describe(CaseEvent(case=case, kind=kind, data={})).title}</strong>" in html


def test_page_text_is_escaped(case):
    event = events.add(events.note(case=case, text="<script>alert(1)</script>", actor=None, now=NOW))
    html = _render(event)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
