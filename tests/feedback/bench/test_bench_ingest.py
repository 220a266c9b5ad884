"""bench ingest, end to end on a small n: the bulk API store, PostgreSQL's COPY of the same rows
(through feedback.db's prepared values), a real worker process, VACUUM before each timing, and
nothing of the bench left behind."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from config.celery import app
from customers.models import Customer
from feedback.intake.models import Mention


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_bench_ingest_measures_vacuums_and_cleans_up(test_database_url, monkeypatch):
    # The worker process the bench starts reads this environment: the test database, the rules engine.
    monkeypatch.setenv("BATON_UNDERSTANDING_ENGINE", "rules")
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")
    out = StringIO()
    call_command("bench", "ingest", "--n", "120", "--workers", "1", "--timeout", "120", stdout=out)
    lines = out.getvalue().strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["bench"] == "ingest" and figures["n"] == 120 and figures["failed"] == 0
    assert figures["copy_per_s"] > 0 and figures["store_per_s"] > 0 and figures["end_to_end_per_s"] > 0
    assert figures["store_vs_copy"] == round(figures["store_per_s"] / figures["copy_per_s"], 3)
    vacuums = [i for i, line in enumerate(lines) if "VACUUM (ANALYZE)" in line]
    stored = next(i for i, line in enumerate(lines) if "bulk API store" in line)
    assert len(vacuums) == 3 and vacuums[0] < stored < vacuums[1], "before each timing, and after the cleanup"
    assert not Mention.objects.filter(external_id__startswith="bench-").exists()
    assert not Customer.objects.filter(external_id__startswith="baton:api:bench-").exists()
