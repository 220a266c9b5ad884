"""What a support agent and a board member see, in a real browser.

Data goes in through the real services (store, then process), as the worker would do it.
"""

import json
import re
from datetime import timedelta
from itertools import count

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback.board import rollups
from feedback.cases.models import Case
from feedback.cases.services import record_reply
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention
from feedback.pipeline import process_mention
from tests.browser.conftest import PASSWORD, log_in
from tests.factories import BoardSeatFactory, MembershipFactory, UserFactory, department

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

COMPLAINT = "@airline my flight is delayed for the third time, unacceptable"
SALES_LEAD = "@airline how much is an upgrade to business class on the Lisbon flight?"
_ids = count(1)


def member(username: str, slug: str):
    return MembershipFactory(user=UserFactory(username=username, password=PASSWORD), department=department(slug)).user


def mention_case(text: str, *, handle: str, name: str = "", minutes_ago: int = 0) -> Case:
    """Store a post as the API would and process it as the worker would; return its case.

    SLA clocks run from when Baton received the post, so `minutes_ago` ages the case's clocks.
    """
    received = timezone.now() - timedelta(minutes=minutes_ago)
    mention, _ = store_mention(
        source="x", external_id=f"browser-{next(_ids)}", text=text, posted_at=received, received_at=received,
        author_handle=handle, author_name=name, url=f"https://x.example/{handle}/status/1", enqueue=False,
    )
    process_mention(mention_id=mention.pk)
    mention.refresh_from_db()
    assert mention.case is not None, f"{text!r} made no case"
    return mention.case


@pytest.fixture
def cases(live_server):
    service = mention_case(COMPLAINT, handle="ritaflies", name="Rita Flies")
    sales = mention_case(SALES_LEAD, handle="bobtravels", name="Bob Travels")
    assert (service.department.slug, sales.department.slug) == ("service", "sales")
    return service, sales


def inbox_row(page, case):
    return page.locator("#inbox-rows tr", has=page.get_by_role("link", name=f"#{case.pk}", exact=True))


def test_service_agent_replies_and_hands_off_to_sales_who_sees_the_note(browser, page, live_server, cases, shots,
                                                                         js_errors, task_queue):
    service_case, sales_case = cases
    member("dana.service", "service")
    member("sam.sales", "sales")

    log_in(page, "dana.service")
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    row = inbox_row(page, service_case)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Rita Flies")
    expect(inbox_row(page, sales_case)).to_have_count(0)
    badge = row.locator(".clock").first
    expect(badge).to_contain_text("left")
    expect(badge).to_have_class(re.compile(r"\bok\b"))
    page.screenshot(path=shots / "inbox.png", full_page=True)

    row.get_by_role("link", name=f"#{service_case.pk}", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/cases/{service_case.pk}/$"))
    expect(page.get_by_role("heading", name=re.compile(rf"Case #{service_case.pk}\b"))).to_be_visible()
    expect(page.locator(".mention").first).to_contain_text("delayed for the third time")

    reply = "Hi Rita, this is Dana from customer service: I'm sorry, I'm checking your booking now."
    page.get_by_label("Reply", exact=True).fill(reply)
    for box in page.locator("#reply .checklist input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".messages")).to_contain_text("Reply queued")
    assert [name for name, _ in task_queue.run()] == ["feedback.tasks.send_reply"]  # the worker's part
    page.reload()
    expect(page.locator(".timeline li.event-reply")).to_contain_text(reply)
    first_reply = page.locator(".sla .clock", has_text="First reply")
    expect(first_reply).to_have_class(re.compile(r"\bmet\b"))
    expect(first_reply).to_contain_text("met")
    page.screenshot(path=shots / "case.png", full_page=True)

    note = "Rita wants to upgrade her rebooked flight: please quote business class."
    page.get_by_label("Hand off to").select_option(label="Sales")
    page.get_by_label("Handoff note").fill(note)
    page.get_by_role("button", name="Hand off").click()
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    expect(page.locator(".messages")).to_contain_text("handed off")
    expect(inbox_row(page, service_case)).to_have_count(0)
    assert js_errors == []

    sales_context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    sales_context.set_default_timeout(5_000)
    try:
        sales_page = sales_context.new_page()
        log_in(sales_page, "sam.sales")
        # Not in the sales inbox until accepted: it waits in the incoming list.
        expect(inbox_row(sales_page, sales_case)).to_have_count(1)
        expect(inbox_row(sales_page, service_case)).to_have_count(0)
        expect(sales_page.locator("#incoming-count")).to_contain_text("Incoming handoffs: 1")
        sales_page.locator("#incoming-count").click()
        sales_page.locator(f"#incoming-rows a[href='/cases/{service_case.pk}/']").click()
        expect(sales_page.locator("#pending-handoff")).to_contain_text(note)
        handoff = sales_page.locator(".timeline li.event-handoff")
        expect(handoff).to_contain_text(note)
        expect(handoff).to_contain_text(re.compile(r"from Customer service to Sales", re.IGNORECASE))
        expect(sales_page.locator(".timeline li").first).to_have_class(re.compile(r"\bevent-handoff\b"))
        sales_page.screenshot(path=shots / "case-after-handoff.png", full_page=True)
    finally:
        sales_context.close()


def test_service_hands_off_to_sales_who_accepts_from_the_incoming_list(browser, page, live_server, cases, shots,
                                                                       js_errors):
    service_case, _ = cases
    member("dana.service", "service")
    member("sam.sales", "sales")
    note = "Rita asks for a business class quote on her rebooked flight."

    log_in(page, "dana.service")
    page.goto(f"/cases/{service_case.pk}/")
    page.get_by_label("Hand off to").select_option(label="Sales")
    page.get_by_label("Handoff note").fill(note)
    page.get_by_role("button", name="Hand off").click()
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    page.get_by_role("link", name="Incoming", exact=True).click()
    expect(page.locator("#sent-rows")).to_contain_text(note)
    page.goto(f"/cases/{service_case.pk}/")
    expect(page.locator("#sent-handoff")).to_contain_text("awaiting acceptance")
    expect(page.get_by_role("button", name="Send reply")).to_have_count(0)

    sales_context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    sales_context.set_default_timeout(5_000)
    try:
        sales_page = sales_context.new_page()
        log_in(sales_page, "sam.sales")
        sales_page.get_by_role("link", name="Incoming", exact=True).click()
        expect(sales_page).to_have_url(re.compile(r"/incoming/$"))
        row = sales_page.locator("#incoming-rows tr", has_text=note)
        expect(row).to_contain_text("Customer service")
        sales_page.screenshot(path=shots / "incoming.png", full_page=True)
        row.get_by_role("button", name="Accept").click()
        expect(sales_page).to_have_url(re.compile(rf"/cases/{service_case.pk}/$"))
        expect(sales_page.locator(".messages")).to_contain_text("accepted")
        expect(sales_page.locator(".timeline li").first).to_have_class(re.compile(r"\bevent-accepted\b"))
        expect(sales_page.get_by_role("button", name="Send reply")).to_be_visible()
        sales_page.get_by_role("link", name="Inbox", exact=True).click()
        expect(inbox_row(sales_page, service_case)).to_have_count(1)
        expect(sales_page.locator("#incoming-count")).to_contain_text("Incoming handoffs: 0")
    finally:
        sales_context.close()
    assert js_errors == []


def test_inbox_colours_sla_badges_by_time_left(page, live_server, shots):
    """High-priority complaints: first reply due in 2 h, warning from 90 min."""
    fresh = mention_case("@airline my bag was lost, terrible service", handle="fresh", name="Fresh Case")
    warning = mention_case("@airline still waiting for my lost bag, awful", handle="warned", name="Warned Case",
                           minutes_ago=100)
    overdue = mention_case("@airline cancelled flight and rude staff, worst airline", handle="late", name="Late Case",
                           minutes_ago=180)
    member("dana.service", "service")
    log_in(page, "dana.service")
    for case, state, text in ((fresh, "ok", "left"), (warning, "warning", "left"), (overdue, "breached", "overdue")):
        badge = inbox_row(page, case).locator(".clock")
        expect(badge).to_have_class(re.compile(rf"\b{state}\b"))
        expect(badge).to_contain_text(text)
    page.screenshot(path=shots / "inbox-sla.png", full_page=True)


def test_member_of_two_departments_filters_the_inbox(page, cases):
    service_case, sales_case = cases
    user = member("kim.both", "service")
    MembershipFactory(user=user, department=department("sales"))
    log_in(page, "kim.both")
    expect(inbox_row(page, service_case)).to_have_count(1)
    expect(inbox_row(page, sales_case)).to_have_count(1)
    page.get_by_label("Department").select_option(label="Sales")
    expect(inbox_row(page, service_case)).to_have_count(0)
    expect(inbox_row(page, sales_case)).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"department={department('sales').pk}"))


def test_handoff_without_a_note_says_what_to_write(page, cases, shots):
    service_case, _ = cases
    member("dana.service", "service")
    log_in(page, "dana.service")
    page.goto(f"/cases/{service_case.pk}/")
    page.get_by_label("Hand off to").select_option(label="Sales")
    page.get_by_role("button", name="Hand off").click()

    handoff_form = page.locator("form", has=page.get_by_role("button", name="Hand off"))
    expect(handoff_form.locator(".errorlist")).to_be_visible()
    expect(handoff_form.locator(".errorlist")).to_contain_text(re.compile("note|required", re.IGNORECASE))
    expect(page.locator(".form-problem")).to_contain_text("not handed off")
    page.screenshot(path=shots / "case-handoff-error.png", full_page=True)
    service_case.refresh_from_db()
    assert service_case.department.slug == "service"


def test_board_renders_its_charts_without_js_errors(page, cases, shots, js_errors):
    service_case, _ = cases
    record_reply(case=service_case, by=None, text="Sorry Rita, we are on it.", now=service_case.created_at + timedelta(minutes=42))
    mention_case("@airline thank you, the crew on my flight was amazing!", handle="happyflyer")
    BoardSeatFactory(user=UserFactory(username="bea.board", password=PASSWORD))
    rollups.rebuild()  # what the rollups queue's task does after each change

    log_in(page, "bea.board")
    expect(page).to_have_url(re.compile(r"/board/$"))
    # The figures are the database's: three posts, one first reply after 42 minutes (the 45-minute bucket).
    assert Mention.objects.count() == 3
    expect(page.locator("#kpi-mentions")).to_have_text("3")
    expect(page.locator("#kpi-median")).to_have_text("≤ 45 min")
    intents = json.loads(page.locator("#data-volume_intent").text_content())
    assert sum(intents["datasets"][0]["data"]) == 3
    # No clock has escalated yet: that chart is its sentence, not a frame of axes around nothing.
    expect(page.locator("#empty-escalations")).to_have_text("No escalations in this period.")
    expect(page.locator("#chart-escalations")).to_have_count(0)
    for canvas_id in ("chart-volume_intent", "chart-reply", "chart-volume_source", "chart-volume_sentiment"):
        canvas = page.locator(f"#{canvas_id}")
        expect(canvas).to_have_attribute("data-rendered", "1")
        box = canvas.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, canvas_id
        painted = canvas.evaluate(
            "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 3 && v > 0)"
        )
        assert painted, f"{canvas_id} is blank"
    page.screenshot(path=shots / "board.png", full_page=True)
    assert js_errors == []

def test_another_departments_case_is_not_found(page, cases, shots):
    _, sales_case = cases
    member("dana.service", "service")
    log_in(page, "dana.service")
    response = page.goto(f"/cases/{sales_case.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name=re.compile("not found", re.IGNORECASE))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("inbox", re.IGNORECASE)).first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("business class")
    page.screenshot(path=shots / "not-found.png", full_page=True)
