"""`bench NAME --record` writes the bench's JSON line, the machine and the commit into one table,
one row per bench; `bench ingest` and `bench pipeline` vacuum what they write."""

import json
import os
import subprocess
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from feedback.bench import record
from feedback.bench.common import WRITTEN_TABLES, vacuum
from feedback.intake.models import Mention


def _bench(*args) -> dict:
    out, err = StringIO(), StringIO()
    call_command("bench", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue().strip().splitlines()[-1])  # still the last line


def _cpu_model() -> str:
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        return next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))


@pytest.mark.django_db
def test_record_writes_one_row_per_bench_and_replaces_it(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    first = _bench("routing", "--n", "400", "--record", str(path))
    rows = record.read_rows(path.read_text(encoding="utf-8"))
    assert list(rows) == ["routing"]
    cells = rows["routing"]
    assert cells[1] == "`bench routing --n 400`"
    assert json.loads(cells[2].strip("`").replace("\\|", "|")) == first
    assert cells[3] == _cpu_model()
    assert cells[4] == str(os.cpu_count())
    start, end = (float(load) for load in cells[5].split(", "))
    assert start >= 0 and end >= 0
    head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=settings.BASE_DIR, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert cells[7].startswith(head)

    understand = _bench("understand", "--n", "30", "--engine", "rules", "--record", str(path))
    second = _bench("routing", "--n", "300", "--seed", "3", "--record", str(path))
    text = path.read_text(encoding="utf-8")
    rows = record.read_rows(text)
    assert list(rows) == ["routing", "understand"]
    assert rows["routing"][1] == "`bench routing --n 300 --seed 3`"
    assert json.loads(rows["routing"][2].strip("`")) == second != first
    assert json.loads(rows["understand"][2].strip("`")) == understand
    assert rows["understand"][1] == "`bench understand --n 30 --engine rules`"
    assert text.startswith(record.HEADER) and "--record" in record.HEADER
    assert text.count("| `routing` |") == 1
    # Notes written by hand below the table stay when a row is recorded again.
    path.write_text(text + "\n## A comparison\n\nOff against on, load 3.\n", encoding="utf-8")
    _bench("routing", "--n", "300", "--record", str(path))
    text = path.read_text(encoding="utf-8")
    assert text.endswith("| `understand` |" + text.split("| `understand` |")[1].split("\n")[0] +
                         "\n\n## A comparison\n\nOff against on, load 3.\n")
    assert list(record.read_rows(text)) == ["routing", "understand"]


@pytest.mark.django_db
def test_without_record_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(record, "BENCHMARKS_FILE", tmp_path / "BENCHMARKS.md")
    _bench("routing", "--n", "200")
    assert not (tmp_path / "BENCHMARKS.md").exists()
    _bench("routing", "--n", "200", "--record")  # no PATH: BENCHMARKS.md
    assert list(record.read_rows((tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8"))) == ["routing"]


def test_a_figure_with_a_pipe_survives_another_bench_being_recorded(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    figures = {"bench": "understand", "embedding": "a | b", "share": None}
    record.record(name="understand", command="bench understand", figures=figures, path=path)
    record.record(name="ingest", command="bench ingest --n 20000", figures={"bench": "ingest"}, path=path)
    rows = record.read_rows(path.read_text(encoding="utf-8"))
    assert list(rows) == ["ingest", "understand"]
    assert json.loads(rows["understand"][2].strip("`").replace("\\|", "|")) == figures
    assert all(len(cells) == len(record.COLUMNS) for cells in rows.values())


def test_the_repository_table_is_the_recorders_own():
    """BENCHMARKS.md as committed reads back and renders to itself (with its notes): nobody retyped a row."""
    text = record.BENCHMARKS_FILE.read_text(encoding="utf-8")
    rows = record.read_rows(text)
    assert {"ingest", "sla", "routing"} <= set(rows)
    assert record.render(rows, record.notes_of(text)) == text
    for name, cells in rows.items():
        assert json.loads(cells[2].strip("`").replace("\\|", "|"))["bench"] == name


@pytest.mark.django_db(transaction=True)
def test_vacuum_clears_what_a_run_deleted():
    """The benches' VACUUM (ANALYZE) runs outside a transaction and leaves no dead rows behind."""
    from tests.factories import MentionFactory

    MentionFactory.create_batch(50)
    Mention.objects.all().delete()
    table = Mention._meta.db_table

    def stats():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT vacuum_count, analyze_count, n_dead_tup FROM pg_stat_user_tables "
                           "WHERE relname = %s", [table])
            return cursor.fetchone()

    before = stats()
    seconds = vacuum(out=(lines := []).append)
    after = stats()
    assert seconds is not None and seconds >= 0
    assert after[0] == before[0] + 1 and after[1] == before[1] + 1 and after[2] == 0
    assert lines and f"{len(WRITTEN_TABLES)} tables" in lines[0]
