"""Cases with many posts: the case page shows the latest ones with "show earlier", and an author who floods
one case (a possible bot) gets the case flagged instead of growing it without end."""

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from feedback.cases.floods import FLOOD_TAG
from feedback.cases.models import Case, CaseEvent
from feedback.cases.services import attach_mention
from feedback.choices import EventKind, Intent, MentionStatus, Priority
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention
from feedback.pipeline import process_mentions
from tests.factories import (
    CaseFactory,
    CustomerFactory,
    MembershipFactory,
    MentionFactory,
    UserFactory,
    department,
)

pytestmark = pytest.mark.django_db


# --- The case page --------------------------------------------------------------------------------------


@pytest.fixture
def crowded(settings):
    """A case with 45 posts and their 45 timeline entries; pages of 10 posts and 20 entries."""
    settings.BATON_CASE_PAGE_POSTS, settings.BATON_CASE_PAGE_EVENTS = 10, 20
    member = MembershipFactory(user=UserFactory(username="agent"), department=department("service")).user
    now = timezone.now()
    case = CaseFactory(department=department("service"), created_at=now - timedelta(hours=2))
    for n in range(45):
        at = now - timedelta(minutes=90 - n)
        mention = MentionFactory(case=case, customer=case.customer, text=f"post number {n:02d}", posted_at=at,
                                 received_at=at)
        CaseEvent.objects.create(case=case, kind=EventKind.MENTION, created_at=at,
                                 data={"mention_id": mention.pk, "text": f"entry number {n:02d}"})
    client = Client()
    client.force_login(member)
    return client, case


def _posts(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<p class="text">post number (\d+)</p>', html)]


def _entries(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<blockquote>entry number (\d+)</blockquote>", html)]


def test_the_case_page_shows_the_latest_posts_and_entries(crowded):
    client, case = crowded
    html = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert _posts(html) == list(range(35, 45))  # the latest 10, oldest first
    assert _entries(html) == list(range(44, 24, -1))  # the latest 20, newest first
    assert "1–10 of the latest 45" in html
    assert 'href="?posts=2&amp;events=1#mentions-title">Show earlier posts</a>' in html
    assert 'href="?posts=1&amp;events=2#timeline-title">Show earlier entries</a>' in html
    assert "Show later posts" not in html
    assert html.count('<details class="labels" open>') == 1  # the newest post's labels are open


def test_show_earlier_pages_back_to_the_first_post(crowded):
    client, case = crowded
    url = reverse("case-detail", args=[case.pk])
    second = client.get(url, {"posts": 2, "events": 3}).content.decode()
    assert _posts(second) == list(range(25, 35))
    assert _entries(second) == list(range(4, -1, -1))  # the last page of the timeline: the 5 oldest
    assert "Show later posts" in second and "Show later entries" in second
    assert '<details class="labels" open>' not in second  # the newest post is not on this page
    last = client.get(url, {"posts": 5}).content.decode()
    assert _posts(last) == list(range(0, 5))
    assert "Show earlier posts" not in last
    assert _posts(client.get(url, {"posts": 999}).content.decode()) == list(range(0, 5))  # past the last: the last


def test_the_page_size_does_not_grow_with_the_posts(crowded, settings):
    client, case = crowded
    url = reverse("case-detail", args=[case.pk])
    before = len(client.get(url).content)
    for n in range(200):
        at = timezone.now() - timedelta(minutes=300 - n)
        MentionFactory(case=case, customer=case.customer, text=f"older post {n}", posted_at=at, received_at=at)
    assert len(client.get(url).content) < before * 1.1


# --- The flood guard --------------------------------------------------------------------------------------


@pytest.fixture
def guard(settings):
    settings.BATON_CASE_FLOOD_MENTIONS, settings.BATON_CASE_FLOOD_MINUTES = 3, 10


def _attach(customer, at, handle="bot"):
    mention = MentionFactory(customer=customer, author_handle=handle, received_at=at, posted_at=at)
    with transaction.atomic():
        case, _ = attach_mention(mention=mention, customer=customer, department=department("service"),
                                 priority=Priority.NORMAL, intent=Intent.COMPLAINT, now=at)
        mention.save(update_fields=["case"])  # as the pipeline saves it
    mention.refresh_from_db()
    return case, mention


def _flood_events(case):
    return list(CaseEvent.objects.filter(case=case, kind=EventKind.NOTE, data__flood__isnull=False))


def test_an_author_over_the_limit_is_held_back_and_the_case_flagged(guard):
    start = timezone.now() - timedelta(hours=1)
    customer = CustomerFactory()
    cases = {_attach(customer, start + timedelta(minutes=n))[0].pk for n in range(3)}
    assert len(cases) == 1
    case = Case.objects.get(pk=cases.pop())
    assert FLOOD_TAG not in case.tags

    held_case, held = _attach(customer, start + timedelta(minutes=3))
    assert held_case is None and held.case_id is None  # stored, not attached
    case.refresh_from_db()
    assert FLOOD_TAG in case.tags
    [event] = _flood_events(case)
    assert event.data["flood"] == {"author": "bot", "limit": 3, "minutes": 10, "held": 1}
    assert "Possible flood or bot: @bot posted more than 3 times" in event.data["text"]
    assert case.mentions.count() == 3
    assert CaseEvent.objects.filter(case=case, kind=EventKind.MENTION).count() == 3

    _attach(customer, start + timedelta(minutes=4))
    assert len(_flood_events(case)) == 1  # one entry per flood, not one per post
    assert case.mentions.count() == 3

    other_case, other = _attach(customer, start + timedelta(minutes=5), handle="the-same-customer-elsewhere")
    assert other_case.pk == case.pk and other.case_id == case.pk  # another handle of the customer: attached

    # Ten minutes after the first three: the window has room again.
    later_case, later = _attach(customer, start + timedelta(minutes=11))
    assert later_case.pk == case.pk and later.case_id == case.pk


def test_the_flag_shows_on_the_case_page(guard):
    start = timezone.now() - timedelta(hours=1)
    customer = CustomerFactory()
    case, _ = _attach(customer, start)
    for n in range(1, 5):
        _attach(customer, start + timedelta(minutes=n))
    member = MembershipFactory(user=UserFactory(username="agent"), department=department("service")).user
    client = Client()
    client.force_login(member)
    html = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Possible flood or bot" in html
    assert f'<span class="chip">{FLOOD_TAG}</span>' in html


def test_one_batch_through_the_pipeline_holds_the_flood(guard):
    ids = [store_mention(source="x", external_id=f"bot-{n}", text=f"@airline my flight is delayed {n}",
                         posted_at=timezone.now(), author_handle="bot", enqueue=False)[0].pk for n in range(8)]
    assert process_mentions(mention_ids=ids) == 8
    mentions = list(Mention.objects.filter(pk__in=ids).order_by("received_at", "id"))
    assert all(mention.status == MentionStatus.PROCESSED for mention in mentions)
    attached = [mention for mention in mentions if mention.case_id]
    assert len(attached) == 3 and len({mention.case_id for mention in attached}) == 1
    case = attached[0].case
    assert FLOOD_TAG in case.tags
    [event] = _flood_events(case)
    assert event.data["flood"]["held"] == 5
    assert CaseEvent.objects.filter(case=case, kind=EventKind.MENTION).count() == 3


def test_zero_turns_the_guard_off(settings):
    settings.BATON_CASE_FLOOD_MENTIONS = 0
    customer = CustomerFactory()
    start = timezone.now()
    cases = {_attach(customer, start + timedelta(seconds=n))[0].pk for n in range(40)}
    assert len(cases) == 1
    assert Case.objects.get(pk=cases.pop()).mentions.count() == 40
