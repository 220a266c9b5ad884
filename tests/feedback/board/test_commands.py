"""manage.py rebuild_rollups and bench dashboard, on small data."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from feedback.board.models import MentionRollup, PromiseRollup
from feedback.intake.models import Mention

pytestmark = pytest.mark.django_db


def test_rebuild_rollups_reports_what_it_wrote(seeded):
    out, err = StringIO(), StringIO()
    call_command("rebuild_rollups", stdout=out, stderr=err)
    assert "Rebuilt" in out.getvalue() and "days" in out.getvalue()
    assert "rollups" in err.getvalue()  # the progress bar
    assert sum(MentionRollup.objects.values_list("mentions", flat=True)) == Mention.objects.count()
    assert sum(PromiseRollup.objects.values_list("mentions", flat=True)) == Mention.objects.exclude(
        promise=None).count()


def test_bench_dashboard_small(promises):
    out = StringIO()
    call_command("bench", "dashboard", "--mentions", "3000", "--days", "30", "--runs", "2", stdout=out)
    lines = out.getvalue().strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["bench"] == "dashboard" and figures["mentions"] == 3000
    assert figures["p95_ms"] > 0 and figures["p95_ms_100k"] > 0
    assert set(figures["panels_p95_ms"]) == {"gap", "regions", "response", "handoffs", "problems", "volume", "loop"}
    assert Mention.objects.filter(external_id__startswith="benchdash-").count() == 0  # cleaned up
