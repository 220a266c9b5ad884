"""bench matching on a small seed: the figures, a last JSON line, and nothing left behind."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Customer, Identity, MatchKey, MatchSuggestion


@pytest.mark.django_db(transaction=True)
def test_bench_matching_scores_and_rolls_back():
    out = StringIO()
    call_command("bench", "matching", "--customers", "2000", "--mentions", "400", "--batch", "100", stdout=out)
    lines = out.getvalue().strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["bench"] == "matching" and figures["mentions"] == 400
    assert figures["matches_per_s"] > 0
    assert figures["precision"] >= 0.99 and figures["recall"] >= 0.9
    assert sum(scenario["n"] for scenario in figures["by_scenario"].values()) == 400
    assert set(figures["outcomes"]) <= {"linked", "auto", "suggested", "prospect"}
    assert not Customer.objects.exists() and not Identity.objects.exists()
    assert not MatchKey.objects.exists() and not MatchSuggestion.objects.exists()
