"""The default promises are one JSON file: the loader, migration 0005 and ensure_default_promises
give the same promises."""

import importlib
import json

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from feedback.understanding.models import Promise
from feedback.understanding.promises import (
    DEFAULT_PROMISES,
    DEFAULT_PROMISES_FILE,
    default_vocabulary,
    ensure_default_promises,
    load_default_promises,
)

FIELDS = ("name", "description", "phrases", "examples", "target")


def _stored() -> dict[str, dict]:
    return {
        promise["slug"]: promise
        for promise in Promise.objects.values("slug", "department__slug", "is_active", *FIELDS)
    }


def _assert_holds_the_file(stored: dict[str, dict]) -> None:
    specs = load_default_promises()
    assert set(stored) == {spec["slug"] for spec in specs}
    for spec in specs:
        row = stored[spec["slug"]]
        for field in FIELDS:
            assert row[field] == spec[field], (spec["slug"], field)
        assert row["department__slug"] == spec["department"], spec["slug"]
        assert row["is_active"], spec["slug"]


def test_the_file_is_plain_data_with_every_field():
    specs = json.loads(DEFAULT_PROMISES_FILE.read_text(encoding="utf-8"))
    assert specs == DEFAULT_PROMISES == load_default_promises()
    assert len(specs) == 9 and len({spec["slug"] for spec in specs}) == 9
    for spec in specs:
        assert set(spec) == {"slug", "name", "department", "description", "phrases", "examples", "target"}
        assert spec["name"] and spec["description"] and spec["phrases"] and spec["examples"], spec["slug"]
        assert all(isinstance(phrase, str) and phrase for phrase in spec["phrases"]), spec["slug"]
    assert [vocabulary.slug for vocabulary in default_vocabulary()] == [spec["slug"] for spec in specs]
    assert default_vocabulary()[0].phrases == tuple(specs[0]["phrases"])


@pytest.mark.django_db
def test_migration_0005_seeds_what_the_file_holds():
    """The migration's own function, on the models as they were at 0005, into an empty table."""
    migration = importlib.import_module("feedback.migrations.0005_default_promises")
    apps = MigrationLoader(connection).project_state(("feedback", "0005_default_promises")).apps
    Promise.objects.all().delete()
    migration.create(apps, None)
    _assert_holds_the_file(_stored())
    migration.create(apps, None)  # a second run adds nothing
    assert Promise.objects.count() == len(DEFAULT_PROMISES)


@pytest.mark.django_db
def test_ensure_default_promises_creates_what_the_file_holds():
    Promise.objects.all().delete()
    assert ensure_default_promises() == len(DEFAULT_PROMISES)
    _assert_holds_the_file(_stored())
    assert ensure_default_promises() == 0


@pytest.mark.django_db
def test_the_migrated_database_holds_the_file():
    """What the test database got from its migrations (put back by ensure_default_promises if a
    transactional test emptied the table)."""
    ensure_default_promises()
    _assert_holds_the_file(_stored())
