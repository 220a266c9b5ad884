"""bench portal: seeds open cases, times every portal page, reports p50/p95 and queries, cleans up."""

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from customers.models import Customer
from feedback.cases.models import Case
from feedback.intake.models import Mention
from feedback.sla.models import SlaClock
from teams.models import BoardSeat, Membership

pytestmark = pytest.mark.django_db


def test_bench_portal_reports_every_page_and_cleans_up():
    before = (Case.objects.count(), Customer.objects.count(), Mention.objects.count(), SlaClock.objects.count(),
              get_user_model().objects.count(), Membership.history.count(), BoardSeat.history.count())
    out = StringIO()
    call_command("bench", "portal", "--open", "400", "--repeat", "2", stdout=out)
    lines = out.getvalue().strip().splitlines()
    result = json.loads(lines[-1])
    assert result["bench"] == "portal" and result["open"] == 400
    pages = result["pages"]
    for name in ("inbox", "inbox_search", "inbox_breached", "inbox_filtered", "case", "incoming", "feedback",
                 "problems", "promises", "notifications", "settings", "audit", "board", "promises_board"):
        assert name in pages, name
        assert pages[name]["status"] == 200, (name, pages[name])
        assert pages[name]["queries"] <= 25, (name, pages[name])
        assert pages[name]["p95_ms"] >= pages[name]["p50_ms"] > 0
    assert any("inbox" in line and "p95" in line for line in lines[:-1])
    after = (Case.objects.count(), Customer.objects.count(), Mention.objects.count(), SlaClock.objects.count(),
             get_user_model().objects.count(), Membership.history.count(), BoardSeat.history.count())
    assert after == before


def test_the_seeded_inbox_is_ordered_by_the_nearest_clock():
    """The bench's seeding fills Case.next_due_at as the clocks would: breached cases first."""
    out = StringIO()
    call_command("bench", "portal", "--open", "50", "--repeat", "1", "--keep", stdout=out)
    open_cases = Case.objects.filter(customer__external_id__startswith="bench-portal-")
    assert open_cases.count() == 50
    for case in open_cases.exclude(status="pending")[:10]:
        nearest = SlaClock.objects.filter(case=case, stopped_at__isnull=True).order_by("due_at").first()
        assert case.next_due_at == nearest.due_at
    assert not open_cases.filter(status="pending", next_due_at__isnull=False).exists()
