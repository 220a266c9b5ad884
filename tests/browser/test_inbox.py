"""The inbox in a real browser: the keyboard, the filters by htmx, and the refresh keeping the selection."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback.cases.models import Case
from feedback.choices import CaseStatus, ClockMetric
from feedback.sla import clocks as sla
from tests.browser.conftest import PASSWORD, log_in
from tests.factories import CaseFactory, CustomerFactory, MembershipFactory, SlaClockFactory, UserFactory, department

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _case(name: str, due_in: timedelta) -> Case:
    now = timezone.now()
    case = CaseFactory(customer=CustomerFactory(name=name), subject=f"Post by {name}", status=CaseStatus.OPEN,
                       created_at=now - timedelta(hours=2))
    SlaClockFactory(case=case, metric=ClockMetric.FIRST_REPLY, due_at=now + due_in,
                    warn_at=now + due_in - timedelta(hours=1), started_at=min(now, now + due_in) - timedelta(hours=2))
    sla.refresh_next_due(case_ids=[case.pk])
    return case


def test_keyboard_search_and_refresh(page, live_server, shots, js_errors):
    later = _case("Later Lee", timedelta(hours=3))
    breached = _case("Breached Bo", timedelta(minutes=-45))
    soon = _case("Soon Sam", timedelta(minutes=30))
    MembershipFactory(user=UserFactory(username="kb.agent", password=PASSWORD), department=department("service"))
    log_in(page, "kb.agent")
    rows = page.locator("#inbox-rows tr[data-case]")
    expect(rows).to_have_count(3)
    # Most urgent clock first.
    assert [int(v) for v in rows.evaluate_all("rows => rows.map(r => r.dataset.case)")] == [
        breached.pk, soon.pk, later.pk]
    page.screenshot(path=shots / "inbox-keyboard.png", full_page=True)

    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("x")
    expect(rows.nth(0).locator('input[name="case"]')).to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("1 ticked")

    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()

    # The periodic refresh replaces the rows: the ticked case and the current row stay.
    page.evaluate("document.getElementById('inbox-rows').dispatchEvent(new Event('refresh-inbox'))")
    page.wait_for_load_state("networkidle")
    expect(rows.nth(0).locator('input[name="case"]')).to_be_checked()
    expect(rows.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))

    # "/" searches; the list narrows as one types (htmx), and the address follows.
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    page.keyboard.type("soon")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Soon Sam")
    expect(page).to_have_url(re.compile(r"q=soon"))

    # "e" resolves the current case after asking.
    page.locator("#id_q").fill("")
    page.locator("#id_q").press("Enter")
    expect(rows).to_have_count(3)
    page.locator("#id_q").press("Escape")  # leaves the search box: the keys are shortcuts again
    page.keyboard.press("j")
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("e")
    expect(page.locator(".messages")).to_contain_text("Resolve: done for 1 case(s).")
    assert Case.objects.filter(status=CaseStatus.RESOLVED).count() == 1

    # An agent's "a" takes the current case (only a lead or head assigns cases to others).
    expect(page.locator('#bulk-form select[name="action"] option[value="assign"]')).to_have_count(0)
    page.keyboard.press("j")
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("a")
    expect(page.locator(".messages")).to_contain_text("Take: done for 1 case(s).")
    assert Case.objects.filter(assignee__username="kb.agent").count() == 1

    # Enter on a focused link follows that link (not the current case).
    page.get_by_role("link", name="Mine", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"tab=mine"))
    assert js_errors == []
