"""Promises as data: the services, the pages (list for every member, management for marketing leads and heads)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from config.errors import BatonError, NotAllowed
from feedback.understanding import promises as services
from feedback.understanding.models import Promise
from feedback.understanding.permissions import can_manage_promises
from feedback.understanding.promises import ensure_default_promises
from feedback.understanding.selectors import promises_overview
from teams.models import Role
from tests.factories import MembershipFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def defaults():
    ensure_default_promises()


def _member(username, slug, role=Role.AGENT):
    return MembershipFactory(user=UserFactory(username=username), department=department(slug), role=role).user


@pytest.fixture
def marketing_lead():
    return _member("maya", "marketing", Role.LEAD)


@pytest.fixture
def marketing_agent():
    return _member("mo", "marketing")


# --- Who manages ------------------------------------------------------------------------------


def test_only_marketing_leads_and_heads_manage(marketing_lead, marketing_agent, service_agent):
    assert can_manage_promises(user=marketing_lead)
    assert can_manage_promises(user=_member("hana", "marketing", Role.HEAD))
    assert can_manage_promises(user=UserFactory(username="root", is_superuser=True))
    assert not can_manage_promises(user=marketing_agent)
    assert not can_manage_promises(user=service_agent)
    assert not can_manage_promises(user=_member("sly", "sales", Role.LEAD))  # a lead, of another department


# --- Services ---------------------------------------------------------------------------------


def test_create_update_deactivate(marketing_lead):
    promise = services.create_promise(
        by=marketing_lead, name="Reply within one hour", description="We answer on social media within an hour.",
        phrases="no reply\n  no answer \n\nNo Reply\nignored", examples=["Two days and no answer."],
        department=department("service"), target="First reply within 60 minutes",
    )
    assert promise.slug == "reply_within_one_hour"
    assert promise.phrases == ["no reply", "no answer", "ignored"]  # blank lines and repeats dropped
    services.update_promise(promise=promise, by=marketing_lead, phrases=["no reply", "still waiting for a reply"])
    promise.refresh_from_db()
    assert promise.phrases == ["no reply", "still waiting for a reply"]
    services.set_promise_active(promise=promise, active=False, by=marketing_lead)
    promise.refresh_from_db()
    assert promise.is_active is False


def test_services_refuse_non_managers_and_bad_input(marketing_lead, marketing_agent):
    with pytest.raises(NotAllowed):
        services.create_promise(by=marketing_agent, name="Free wifi", phrases=["wifi"])
    with pytest.raises(BatonError) as refused:
        services.create_promise(by=marketing_lead, name="On time again", slug="on_time", phrases=["late"])
    assert "slug" in refused.value.fields
    with pytest.raises(BatonError):
        services.create_promise(by=marketing_lead, name="  ")
    promise = Promise.objects.get(slug="on_time")
    with pytest.raises(BatonError):
        services.update_promise(promise=promise, by=marketing_lead, slug="renamed")  # the slug never changes
    with pytest.raises(NotAllowed):
        services.delete_promise(promise=promise, by=marketing_agent)


def test_delete_only_what_nothing_was_matched_to(marketing_lead):
    unused = services.create_promise(by=marketing_lead, name="Free snacks", phrases=["snacks"])
    services.delete_promise(promise=unused, by=marketing_lead)
    assert not Promise.objects.filter(slug="free_snacks").exists()
    used = Promise.objects.get(slug="on_time")
    MentionFactory(promise=used)
    with pytest.raises(BatonError) as refused:
        services.delete_promise(promise=used, by=marketing_lead)
    assert refused.value.code == "in_use"
    assert Promise.objects.filter(pk=used.pk).exists()


def test_overview_counts_the_last_30_days_in_one_query(django_assert_num_queries):
    now = timezone.now()
    on_time = Promise.objects.get(slug="on_time")
    for days, label in [(1, "negative"), (2, "negative"), (3, "positive"), (10, "neutral"), (45, "negative")]:
        MentionFactory(promise=on_time, sentiment_label=label, received_at=now - timedelta(days=days))
    with django_assert_num_queries(1):
        overview = {promise.slug: promise for promise in promises_overview(now=now)}
    assert (overview["on_time"].recent, overview["on_time"].shortfalls, overview["on_time"].delights) == (4, 2, 1)
    assert overview["bags_arrive"].recent == 0


# --- Pages ------------------------------------------------------------------------------------


def test_every_member_sees_the_list_and_a_promise(client, service_agent):
    on_time = Promise.objects.get(slug="on_time")
    MentionFactory(promise=on_time, text="@airline three hours late again", sentiment_label="negative")
    client.force_login(service_agent)
    page = client.get(reverse("promise-list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "On time" in html and "Short lines" in html
    assert reverse("promise-create") not in html  # no management links for an agent
    detail = client.get(reverse("promise-detail", args=["on_time"]))
    assert detail.status_code == 200
    assert "three hours late again" in detail.content.decode()
    assert "Shortfall" in detail.content.decode()


def test_someone_in_no_department_gets_403(client):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("promise-list")).status_code == 403
    assert client.get(reverse("promise-detail", args=["on_time"])).status_code == 403


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "promise-create", []),
        ("post", "promise-create", []),
        ("get", "promise-edit", ["on_time"]),
        ("post", "promise-edit", ["on_time"]),
        ("post", "promise-toggle", ["on_time"]),
        ("post", "promise-delete", ["short_lines"]),
    ],
)
def test_a_marketing_agent_gets_403_on_management(client, marketing_agent, method, name, args):
    client.force_login(marketing_agent)
    response = getattr(client, method)(reverse(name, args=args), {"name": "X", "phrases": "x"})
    assert response.status_code == 403
    assert Promise.objects.filter(slug="short_lines", is_active=True).exists()
    assert Promise.objects.get(slug="on_time").name == "On time"


def test_a_marketing_lead_manages_promises_through_the_pages(client, marketing_lead):
    client.force_login(marketing_lead)
    assert reverse("promise-create") in client.get(reverse("promise-list")).content.decode()
    form_page = client.get(reverse("promise-create"))
    assert form_page.status_code == 200
    assert {"name", "slug", "phrases", "department", "target"} <= set(form_page.context["form"].fields)
    response = client.post(reverse("promise-create"), {
        "name": "Fast refunds", "slug": "", "description": "Refunds within 7 days.",
        "phrases": "refund\nmoney back\nstill no refund", "examples": "Waiting 3 weeks for my refund.",
        "department": department("after-sales").pk, "target": "7 days", "is_active": "on",
    })
    assert response.status_code == 302 and response["Location"] == reverse("promise-detail", args=["fast_refunds"])
    promise = Promise.objects.get(slug="fast_refunds")
    assert promise.phrases == ["refund", "money back", "still no refund"]
    assert promise.department.slug == "after-sales"

    response = client.post(reverse("promise-edit", args=["fast_refunds"]), {
        "name": "Fast refunds", "description": "Refunds within 5 days.", "phrases": "refund\nreimbursement",
        "examples": "", "department": department("after-sales").pk, "target": "5 days", "is_active": "on",
    })
    assert response.status_code == 302
    promise.refresh_from_db()
    assert promise.phrases == ["refund", "reimbursement"] and promise.target == "5 days"

    client.post(reverse("promise-toggle", args=["fast_refunds"]))
    assert Promise.objects.get(slug="fast_refunds").is_active is False
    client.post(reverse("promise-delete", args=["fast_refunds"]))
    assert not Promise.objects.filter(slug="fast_refunds").exists()


def test_form_errors_are_shown(client, marketing_lead):
    client.force_login(marketing_lead)
    response = client.post(reverse("promise-create"), {"name": "", "phrases": "", "is_active": "on"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The promise was not saved" in html and "at least one phrase" in html
    response = client.post(reverse("promise-create"), {"name": "Late again", "slug": "on_time", "phrases": "late",
                                                       "is_active": "on"})
    assert response.status_code == 400 and "Choose another slug" in response.content.decode()


def test_deleting_a_used_promise_explains_why_not(client, marketing_lead):
    MentionFactory(promise=Promise.objects.get(slug="on_time"))
    client.force_login(marketing_lead)
    response = client.post(reverse("promise-delete", args=["on_time"]), follow=True)
    assert "deactivate it instead" in response.content.decode()
    assert Promise.objects.filter(slug="on_time").exists()


def test_matched_mentions_are_paginated_and_link_only_own_cases(client, service_agent):
    from tests.factories import CaseFactory

    on_time = Promise.objects.get(slug="on_time")
    now = timezone.now()
    for n in range(30):
        MentionFactory(promise=on_time, text=f"late flight number {n}", received_at=now - timedelta(minutes=n))
    own = CaseFactory(department=department("service"))
    other = CaseFactory(department=department("sales"))
    MentionFactory(promise=on_time, text="mine", case=own, received_at=now + timedelta(minutes=2))
    MentionFactory(promise=on_time, text="theirs", case=other, received_at=now + timedelta(minutes=1))
    client.force_login(service_agent)
    first = client.get(reverse("promise-detail", args=["on_time"])).content.decode()
    assert "32 in all" in first and "Page 1 of 2" in first
    assert reverse("case-detail", args=[own.pk]) in first
    assert reverse("case-detail", args=[other.pk]) not in first and "Case with Sales" in first
    second = client.get(reverse("promise-detail", args=["on_time"]) + "?page=2").content.decode()
    assert "late flight number 29" in second and "late flight number 0<" not in second
    assert client.get(reverse("promise-detail", args=["no_such_promise"])).status_code == 404
