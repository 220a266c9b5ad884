"""The Content-Security-Policy in a real browser: every page works with no inline script, style or eval, and the
browser reports no violation (htmx, Chart.js, the confirm dialogs, the admin and Swagger UI included)."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from feedback.board import rollups
from feedback.routing.models import RoutingRule
from feedback.understanding.models import Promise
from teams.models import BoardSeat, Role
from tests.browser.conftest import PASSWORD, log_in
from tests.browser.test_pages import COMPLAINT, mention_case
from tests.factories import MembershipFactory, UserFactory, department

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Collects what the browser refused, before any page script runs.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile));
"""


@pytest.fixture
def root(live_server):
    """A superuser who heads service and has a board seat: every page is open to them."""
    user = UserFactory(username="root", password=PASSWORD, is_superuser=True, is_staff=True)
    MembershipFactory(user=user, department=department("service"), role=Role.HEAD)
    BoardSeat.objects.create(user=user)
    return user


def _violations(page) -> list[str]:
    return page.evaluate("window.__csp")


def test_every_page_renders_without_a_csp_violation(page, root, js_errors, shots):
    case = mention_case(COMPLAINT, handle="ritaflies", name="Rita Flies")
    promise = Promise.objects.create(name="On time", slug="on-time")
    rule = RoutingRule.objects.filter(department=department("service")).first()
    page.context.add_init_script(RECORD_VIOLATIONS)
    log_in(page, "root")
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    paths = [
        reverse("inbox"), reverse("case-detail", args=[case.pk]), reverse("board"), reverse("notifications"),
        reverse("rule-list"), reverse("rule-create"), reverse("rule-edit", args=[rule.pk]), reverse("incoming"),
        reverse("feedback-list"), reverse("problems"), reverse("promise-list"),
        reverse("promise-detail", args=[promise.slug]), reverse("promise-create"), reverse("admin:index"),
        reverse("admin:feedback_slapolicy_changelist"), reverse("admin:feedback_case_change", args=[case.pk]),
    ]
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
        assert _violations(page) == [], path
    assert missing == []
    assert js_errors == []


def test_charts_htmx_and_confirm_dialogs_work_under_the_csp(page, root, js_errors, shots):
    mention_case(COMPLAINT, handle="ritaflies", name="Rita Flies")
    promise = Promise.objects.create(name="On time", slug="on-time")
    rollups.rebuild()  # what the rollups queue's task does after each change: the board's charts have data to draw
    page.context.add_init_script(RECORD_VIOLATIONS)
    log_in(page, "root")

    page.goto(reverse("board"))
    expect(page.locator("#chart-volume_intent")).to_have_attribute("data-rendered", "1")  # Chart.js from a static file

    page.goto(reverse("rule-create"))  # htmx: posts the form (CSRF header from hx-headers), swaps the result in
    page.get_by_label("Name").fill("Zeppelins")
    page.locator("#id_department").select_option(label="Customer service")
    page.get_by_role("button", name="Test this rule").click()
    expect(page.locator("#rule-test")).to_contain_text("of the last")

    page.goto(reverse("promise-detail", args=[promise.slug]))  # data-confirm, from static/feedback/confirm.js
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Delete").click()
    page.wait_for_load_state()
    assert asked and asked[0].startswith("Delete this promise?")
    assert Promise.objects.filter(slug="on-time").exists()  # dismissed: nothing deleted
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/promises/$"))
    assert not Promise.objects.filter(slug="on-time").exists()

    assert _violations(page) == []
    assert js_errors == []


def test_swagger_ui_starts_from_its_split_script(page, root, js_errors, shots):
    page.context.add_init_script(RECORD_VIOLATIONS)
    log_in(page, "root")
    page.goto(reverse("api-docs"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Baton API", timeout=15_000)
    page.screenshot(path=shots / "api-docs.png")
    assert _violations(page) == []
    assert js_errors == []
