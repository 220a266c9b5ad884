"""The case page, the reply composer and sending, in a real browser (Debian's Chromium, headless).

A service agent opens the most urgent breached case, replies with a canned response, is blocked by
the PII guard, fixes the reply and sees it in the outbox, hands the case to after-sales, who accepts
it; two people on one case see each other and the second sender is warned; a press case's reply waits
for the lead's approval. The worker's part (the send task) runs in the test through the real broker
(`task_queue.run()`), as a Celery worker would run it.

Screenshots of the inbox, the case page and the composer go to tests/artifacts/ (ignored by git) on every run.
"""

import re
from datetime import timedelta
from itertools import count
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback.cases.models import Case
from feedback.choices import Intent
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention
from feedback.pipeline import process_mention
from feedback.replies.models import CannedResponse, OutboxMessage, Reply, ReplyStatus
from feedback.sla import clocks as sla
from teams.models import Role
from tests.browser.conftest import PASSWORD, log_in
from tests.factories import MembershipFactory, UserFactory, department

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
_ids = count(1)


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def member(username: str, slug: str, first: str, last: str, role: str = Role.AGENT):
    user = UserFactory(username=username, password=PASSWORD, first_name=first, last_name=last)
    MembershipFactory(user=user, department=department(slug), role=role)
    return user


def mention_case(text: str, *, handle: str, name: str, minutes_ago: int = 0) -> Case:
    """A post stored as the API stores it and processed as the worker processes it; its case."""
    received = timezone.now() - timedelta(minutes=minutes_ago)
    mention, _ = store_mention(
        source="x", external_id=f"case-page-{next(_ids)}", text=text, posted_at=received, received_at=received,
        author_handle=handle, author_name=name, url=f"https://x.example/{handle}/status/{next(_ids)}", enqueue=False,
    )
    process_mention(mention_id=mention.pk)
    return Mention.objects.select_related("case").get(pk=mention.pk).case


def open_most_urgent_with_the_keyboard(page, case, artifacts):
    """The inbox lists the most urgent clock first: j/k move the current row, o opens it."""
    page.goto("/inbox/")
    rows = page.locator("#inbox-rows tr[data-case]")
    expect(rows.first).to_have_attribute("data-case", str(case.pk))
    assert rows.count() >= 2
    expect(rows.first).to_have_class(re.compile(r"\bescalated\b"))  # breached: escalation level 2 or more
    page.screenshot(path=artifacts / "inbox.png", full_page=True)
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows.first).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("o")
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))


def tick_checklist(page):
    for box in page.locator("#reply .checklist input[type=checkbox]").all():
        box.check()


def test_agent_replies_with_a_canned_response_is_blocked_by_the_guard_and_hands_off(
        browser, page, live_server, artifacts, task_queue, js_errors):
    member("dana", "service", "Dana", "Ortiz")
    member("alex", "after-sales", "Alex", "Meyer")
    member("sam", "service", "Sam", "Lead", role=Role.LEAD)
    CannedResponse.objects.create(
        department=department("service"), title="Sorry, we are on it",
        text="Hi {{ first_name }}, I'm {{ agent_first_name }} from {{ department }}. I'm sorry about this: "
             "send us your booking details by private message and we will sort it out.")
    mention_case("@airline thanks for the lovely crew today", handle="happyflyer", name="Happy Flyer", minutes_ago=5)
    newer = mention_case("@airline my bag came off the belt in Porto with a broken handle", handle="joaop",
                         name="Joao Pires", minutes_ago=10)
    breached = mention_case("@airline my bag never arrived in Lisbon, three days now and nobody answers",
                            handle="ritaflies", name="Rita Flies", minutes_ago=24 * 60)
    sla.escalate_due()  # the sweep: the old case's first-reply clock is breached
    task_queue.purge()  # (its notification e-mails are not this test's subject)
    breached.refresh_from_db()
    assert breached.department.slug == "service" and breached.escalation_level >= 2

    log_in(page, "dana")
    assert newer.department.slug == "service"  # a second, younger case in the same inbox, below the breached one
    open_most_urgent_with_the_keyboard(page, breached, artifacts)
    expect(page.locator(".sla .clock.breached").first).to_be_visible()
    expect(page.locator("#presence")).to_contain_text("Nobody else is on this case")

    page.get_by_label("Canned response").select_option(label="Sorry, we are on it")
    box = page.get_by_label("Reply", exact=True)
    expect(box).to_have_value(re.compile(r"^Hi Rita, I'm Dana from Customer service\."))
    box.press("Control+End")
    box.type(" Or call me on +1 212-736-5000.")
    tick_checklist(page)
    page.locator("#reply").screenshot(path=artifacts / "composer.png")
    page.get_by_role("button", name="Send reply").click()

    blocked = page.locator("#pii-blocked")
    expect(blocked).to_contain_text("the PII guard blocked this public reply")
    expect(blocked).to_contain_text("Phone number")
    expect(blocked).to_contain_text("+1 212-736-5000")
    page.screenshot(path=artifacts / "case-pii-blocked.png", full_page=True)
    assert not Reply.objects.exists()

    box = page.get_by_label("Reply", exact=True)
    box.fill(box.input_value().replace(" Or call me on +1 212-736-5000.", ""))
    tick_checklist(page)
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".messages")).to_contain_text("Reply queued")
    expect(page.locator("#outgoing")).to_contain_text("Queued to send")
    assert [name for name, _ in task_queue.run()] == ["feedback.tasks.send_reply"]  # the worker's part

    page.reload()
    outbox = page.locator("#outbox")
    expect(outbox).to_contain_text("Hi Rita, I'm Dana from Customer service.")
    expect(outbox).to_contain_text("@ritaflies")
    expect(page.locator(".brand-reply")).to_contain_text("in the outbox")
    expect(page.locator(".timeline li.event-reply")).to_contain_text("Public reply by Dana Ortiz")
    # The first-reply clock stopped, late (it had breached).
    expect(page.locator(".sla .clock", has_text="First reply")).to_have_class(re.compile(r"\bstopped-late\b"))
    assert OutboxMessage.objects.get().to_handle == "ritaflies"
    page.screenshot(path=artifacts / "case-page.png", full_page=True)

    note = "Rita's bag is found in Lisbon: after-sales, please arrange delivery and the delay compensation."
    page.get_by_label("Hand off to").select_option(label="After-sales")
    page.get_by_label("Handoff note").fill(note)
    page.get_by_role("button", name="Hand off").click()
    expect(page.locator(".messages")).to_contain_text("handed off")
    # (Chromium logs the blocked reply's 422 answer as a failed resource: expected, nothing else.)
    assert [error for error in js_errors if "status of 422" not in error] == []

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(5_000)
    try:
        after_sales = context.new_page()
        log_in(after_sales, "alex")
        after_sales.goto(f"/cases/{breached.pk}/")
        expect(after_sales.locator("#pending-handoff")).to_contain_text(note)
        # Dana left the case page when she handed it off: she is not shown as on it any more.
        expect(after_sales.locator("#presence")).to_have_count(0)  # (no presence until the handoff is accepted)
        after_sales.get_by_label("Assign it to me").check()
        after_sales.get_by_role("button", name="Accept handoff").click()
        expect(after_sales.locator(".messages")).to_contain_text("accepted")
        expect(after_sales.locator(".case-head")).to_contain_text("assigned to Alex Meyer")
        expect(after_sales.get_by_role("button", name="Send reply")).to_be_visible()
        expect(after_sales.locator("#presence")).to_contain_text("Nobody else is on this case")
        after_sales.screenshot(path=artifacts / "case-accepted.png", full_page=True)
    finally:
        context.close()


def test_two_people_on_one_case_see_each_other_and_the_second_sender_is_warned(browser, page, live_server,
                                                                               artifacts, task_queue):
    member("dana", "service", "Dana", "Ortiz")
    member("kim", "service", "Kim", "Park")
    case = mention_case("@airline my flight was cancelled and the app shows nothing", handle="bobtravels",
                        name="Bob Travels", minutes_ago=10)
    log_in(page, "dana")
    page.goto(f"/cases/{case.pk}/")

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(5_000)
    try:
        kim = context.new_page()
        log_in(kim, "kim")
        kim.goto(f"/cases/{case.pk}/")
        # The polls (every 3 s) show each to the other.
        expect(page.locator("#presence")).to_contain_text("Kim Park is viewing", timeout=10_000)
        expect(kim.locator("#presence")).to_contain_text("Dana Ortiz is viewing", timeout=10_000)
        kim.get_by_label("Reply", exact=True).type("Hi Bob, Kim here")
        expect(page.locator("#presence")).to_contain_text("Kim Park is typing a reply", timeout=10_000)
        page.screenshot(path=artifacts / "case-presence.png", full_page=True)

        # Dana sends first; Kim, who loaded the page before, is warned and sees Dana's reply first.
        page.get_by_label("Reply", exact=True).fill("Hi Bob, I'm Dana from Customer service: rebooking you now.")
        tick_checklist(page)
        page.get_by_role("button", name="Send reply").click()
        expect(page.locator(".messages")).to_contain_text("Reply queued")
        kim.get_by_label("Reply", exact=True).fill("Hi Bob, Kim here from Customer service: looking into it.")
        tick_checklist(kim)
        kim.get_by_role("button", name="Send reply").click()
        warning = kim.locator("#collision")
        expect(warning).to_contain_text("something new arrived on this case since you opened it")
        expect(warning).to_contain_text("Dana Ortiz")
        expect(warning).to_contain_text("rebooking you now")
        expect(kim.get_by_label("Reply", exact=True)).to_have_value(re.compile("Kim here"))
        kim.screenshot(path=artifacts / "case-collision.png", full_page=True)
        assert Reply.objects.count() == 1
        # Having read it, Kim may still send (a second press).
        tick_checklist(kim)
        kim.get_by_role("button", name="Send reply").click()
        expect(kim.locator(".messages")).to_contain_text("Reply queued")
        assert Reply.objects.count() == 2
    finally:
        context.close()


def test_a_press_reply_waits_for_the_lead_and_is_sent_once_approved(browser, page, live_server, artifacts,
                                                                    task_queue):
    member("mia", "marketing", "Mia", "Jones")
    member("lee", "marketing", "Lee", "Chen", role=Role.LEAD)
    case = mention_case("@airline journalist at the Daily Post here: can you comment on today's cancellations?",
                        handle="dailypostjo", name="Jo Reporter", minutes_ago=15)
    # As the default press rule routes it: marketing, with legal review and approval.
    Case.objects.filter(pk=case.pk).update(department=department("marketing"), intent=Intent.PRESS,
                                           requires_approval=True, tags=["legal-review"])
    log_in(page, "mia")
    page.goto(f"/cases/{case.pk}/")
    expect(page.locator("#reply .approval-needed")).to_contain_text("Press case")
    page.get_by_label("Reply", exact=True).fill("Hi Jo, Mia from Marketing: our statement follows shortly.")
    tick_checklist(page)
    page.get_by_role("button", name="Send for approval").click()
    expect(page.locator(".messages")).to_contain_text("waiting for approval")
    expect(page.locator("#outgoing")).to_contain_text("Awaiting approval")
    assert task_queue.run() == []  # nothing goes out before the approval

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(5_000)
    try:
        lead = context.new_page()
        log_in(lead, "lee")
        lead.get_by_role("link", name="Approvals").click()
        item = lead.locator(".approval", has_text="our statement follows shortly")
        expect(item).to_contain_text("Mia Jones")
        item.get_by_label("Reply (edit if needed)").fill("Hi Jo, Mia from Marketing: our statement follows within the hour.")
        lead.screenshot(path=artifacts / "approvals.png", full_page=True)
        item.get_by_role("button", name="Approve and send").click()
        expect(lead.locator(".messages")).to_contain_text("approved")
    finally:
        context.close()
    assert [name for name, _ in task_queue.run()] == ["feedback.tasks.send_reply"]
    assert Reply.objects.get().status == ReplyStatus.SENT
    page.reload()
    expect(page.locator(".brand-reply")).to_contain_text("within the hour")
    expect(page.locator(".timeline")).to_contain_text("Reply approved by Lee Chen (edited)")
    page.set_viewport_size({"width": 768, "height": 1000})  # a tablet: one column, nothing cut off
    page.screenshot(path=artifacts / "case-page-768.png", full_page=True)
    wide = page.evaluate("""[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 768)
        .map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 15)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 768, wide
