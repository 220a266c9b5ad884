"""bench ingest, end to end on a small n: the bulk API store, PostgreSQL's COPY of the same rows
(through feedback.db's prepared values), a real worker process, VACUUM before each timing, the rollup
upkeep off and on (`--rollups-ab`), and nothing of the bench left behind, in the rollups either."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from config.celery import app
from customers.models import Customer
from feedback.board.models import RollupDirtyDay, VolumeRollup
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
    call_command("bench", "ingest", "--n", "120", "--workers", "1", "--timeout", "120", "--rollups-ab", "1", stdout=out)
    lines = out.getvalue().strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["bench"] == "ingest" and figures["n"] == 120 and figures["failed"] == 0
    assert figures["copy_per_s"] > 0 and figures["store_per_s"] > 0 and figures["end_to_end_per_s"] > 0
    assert figures["store_vs_copy"] == round(figures["store_per_s"] / figures["copy_per_s"], 3)
    vacuums = [i for i, line in enumerate(lines) if "VACUUM (ANALYZE)" in line]
    stored = next(i for i, line in enumerate(lines) if "bulk API store" in line)
    assert len(vacuums) == 5 and vacuums[0] < stored < vacuums[1], "before each timing, and after the cleanup"
    assert figures["rollups_ab_rounds"] == 1 and set(figures["rollups_ab_runs"]) == {"off", "on"}
    assert figures["end_to_end_per_s_rollups_off"] > 0 and figures["end_to_end_per_s_rollups_on"] > 0
    assert 0 <= figures["rollups_refresh_share"] < 1
    assert figures["rollups_slowdown"] == pytest.approx(  # one round: its on/off ratio (the runs' rates rounded)
        1 - figures["rollups_ab_runs"]["on"][0] / figures["rollups_ab_runs"]["off"][0], abs=0.005)
    assert [line for line in lines if "(rollup upkeep off)" in line] and [line for line in lines if "(rollup upkeep on)"
                                                                          in line]
    # The rollups are current after the bench: its deleted mentions are no longer counted, nothing waits.
    assert not RollupDirtyDay.objects.exists() and not VolumeRollup.objects.exists()
    assert not Mention.objects.filter(external_id__startswith="bench-").exists()
    assert not Customer.objects.filter(external_id__startswith="baton:api:bench-").exists()
