"""bench routing: runs, reports decisions per second with 50 rules, leaves nothing behind."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from feedback.routing.models import RoutingRule

pytestmark = pytest.mark.django_db


def test_bench_routing_reports_and_cleans_up():
    before = list(RoutingRule.objects.order_by("pk").values_list("pk", "is_active"))
    out = StringIO()
    call_command("bench", "routing", "--n", "3000", stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["bench"] == "routing"
    assert result["rules"] == 50
    assert result["decisions_per_s"] > 0
    assert result["rules_hit"] > 5
    assert list(RoutingRule.objects.order_by("pk").values_list("pk", "is_active")) == before
