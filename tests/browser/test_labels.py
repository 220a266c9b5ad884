"""A service agent corrects a label on the case page with one pick, in a real browser, and it sticks."""

import re

import pytest
from playwright.sync_api import expect

from feedback.intake.models import Mention
from feedback.understanding.models import LabelCorrection
from tests.browser.conftest import log_in
from tests.browser.test_pages import member, mention_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

QUESTION = "@airline is a second checked bag free on international flights?"


def test_service_agent_corrects_an_intent_with_one_click_and_it_sticks(page, live_server, shots, js_errors):
    case = mention_case(QUESTION, handle="ritaflies", name="Rita Flies")
    mention = Mention.objects.get(case=case)
    assert mention.intent == "question"
    member("dana.service", "service")

    log_in(page, "dana.service")
    page.goto(f"/cases/{case.pk}/")
    panel = page.locator(f"#labels-{mention.pk}")
    expect(panel.get_by_text("What Baton understood")).to_be_visible()
    intent = panel.get_by_label("Intent of this post")
    expect(intent).to_have_value("question")
    expect(panel.locator("[data-label=intent] .confidence")).to_contain_text("% sure")
    expect(panel.get_by_text("Recommended response")).to_be_visible()
    page.screenshot(path=shots / "case-labels.png", full_page=True)

    intent.select_option("complaint")  # the one click: htmx posts it and swaps the panel
    panel = page.locator(f"#labels-{mention.pk}")
    expect(panel.locator("[data-label=intent] .confidence")).to_contain_text("by a person")
    expect(panel.get_by_label("Intent of this post")).to_have_value("complaint")
    expect(page.locator(".timeline li").first).to_contain_text("Label corrected")
    expect(page.locator(f"#chips-{mention.pk}")).to_contain_text("Complaint")
    page.screenshot(path=shots / "case-label-corrected.png", full_page=True)

    page.reload()
    expect(page.locator(f"#labels-{mention.pk}").get_by_label("Intent of this post")).to_have_value("complaint")
    expect(page.locator(".timeline li.event-note").first).to_contain_text(
        re.compile(r"Corrected the intent of @ritaflies's post: Question → Complaint")
    )
    correction = LabelCorrection.objects.get(mention=mention)
    assert (correction.old_value, correction.new_value, correction.by.username) == ("question", "complaint",
                                                                                   "dana.service")
    assert js_errors == []
