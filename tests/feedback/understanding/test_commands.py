import csv
import json
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from feedback.understanding import load

from .conftest import small_examples


def write_csv(path, rows, columns):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (int(v) if isinstance(v, bool) else v) for k, v in row.items()})
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("understanding")
    examples = [e for e in small_examples() if "weight" not in e]
    columns = ["text", "sentiment", "intent", "is_complaint", "promise", "is_spam"]
    train = write_csv(folder / "train.csv", [e for i, e in enumerate(examples) if i % 5], columns)
    held_out = [e for i, e in enumerate(examples) if i % 5 == 0]
    test = write_csv(folder / "test.csv", random.Random(0).sample(held_out, 300), columns)
    tiny = write_csv(folder / "tiny.csv", [e for i, e in enumerate(examples) if i % 5][::4], columns)
    return train, test, tiny


def test_evaluate_with_train_prints_report_and_json_line(files):
    train, test, _ = files
    out = StringIO()
    call_command("evaluate_understanding", "--data", str(test), "--train", str(train), stdout=out, stderr=StringIO())
    lines = out.getvalue().strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["n"] == 300
    assert {"sentiment", "is_complaint", "is_spam"} <= set(summary)
    for label, scores in summary.items():
        if label != "n":
            assert 0.0 <= scores["accuracy"] <= 1.0 and 0.0 <= scores["macro_f1"] <= 1.0
    assert summary["sentiment"]["accuracy"] > 0.6
    text = out.getvalue()
    assert "== sentiment" in text and "confusion" in text and "precision" in text


@pytest.mark.parametrize("content", [None, "body,intent\nhi,other\n", "text,intent\nhi,shouting\n"])
def test_evaluate_bad_input_exits_2(tmp_path, content):
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError) as info:
        call_command("evaluate_understanding", "--data", str(path), stdout=StringIO())
    assert info.value.returncode == 2


def test_train_command_saves_a_model(files, tmp_path):
    _, _, tiny = files
    target = tmp_path / "model.joblib"
    out = StringIO()
    call_command("train_understanding", "--no-shipped", "--no-corrections", "--data", str(tiny), "--folds", "3",
                 "--out", str(target), stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["path"] == str(target) and target.is_file()
    assert result["cv"]["sentiment"]["accuracy"] > 0.6
    assert load(target).version == result["version"]


def test_train_command_bad_input_exits_2(tmp_path):
    with pytest.raises(CommandError) as info:
        call_command("train_understanding", "--data", str(tmp_path / "missing.csv"), "--no-cv", "--no-corrections",
                     stdout=StringIO())
    assert info.value.returncode == 2


@pytest.mark.django_db
def test_train_command_learns_from_the_portals_corrections(files, tmp_path):
    from datetime import UTC, datetime

    from feedback.intake.ingest import store_mention
    from feedback.understanding.labels import correct_label
    from tests.factories import UserFactory

    mention, _ = store_mention(source="x", external_id="c1", text="@airline the seat would be nicer with a footrest",
                               posted_at=datetime(2026, 11, 20, tzinfo=UTC), author_handle="dana", enqueue=False)
    correct_label(mention=mention, label="intent", value="idea", by=UserFactory(is_superuser=True))
    _, _, tiny = files
    out = StringIO()
    call_command("train_understanding", "--no-shipped", "--data", str(tiny), "--no-cv",
                 "--out", str(tmp_path / "m.joblib"), stdout=out)
    assert "1 label correction(s) from the portal" in out.getvalue()


def test_the_train_function_survives_the_retraining_module_being_imported():
    """A submodule named like the package's `train` function used to replace it on import."""
    import feedback.understanding
    import feedback.understanding.retraining  # noqa: F401 - the import is the point

    assert callable(feedback.understanding.train)


def test_train_command_on_an_unmigrated_database_says_to_migrate(files, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "BATON_VAR_DIR": str(tmp_path),
           "DJANGO_DEBUG": "true"}
    result = subprocess.run(
        [sys.executable, "manage.py", "train_understanding", "--no-shipped", "--no-cv", "--data", str(files[2])],
        cwd=Path(__file__).resolve().parents[3], env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "run `python manage.py migrate` first, or pass --no-corrections" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command, flag", [("evaluate_understanding", "--train"), ("train_understanding", "--data")])
def test_several_files_follow_one_flag_or_a_repeated_one(command, flag):
    from django.core.management import load_command_class

    parser = load_command_class("feedback", command).create_parser("manage.py", command)
    extra = ["--data", "test.csv"] if command == "evaluate_understanding" else []
    attr = flag.lstrip("-")
    assert getattr(parser.parse_args([*extra, flag, "a.csv", "b.csv", "c.csv"]), attr) == ["a.csv", "b.csv", "c.csv"]
    assert getattr(parser.parse_args([*extra, flag, "a.csv", flag, "b.csv"]), attr) == ["a.csv", "b.csv"]
