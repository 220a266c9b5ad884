"""The dashboard's numbers (read from the rollups) against a direct count over the raw rows, on the
same seeded data (tests/feedback/board/conftest.py): every panel, this period and the previous one
(the direct count and its checks: tests/feedback/board/direct.py)."""

import pytest

from feedback.board import rollups, selectors
from feedback.board.days import today
from tests.feedback.board.direct import assert_agrees, direct, recomputed_tables, rollup_tables

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("days", [7, 30, 60])
def test_the_dashboard_agrees_with_a_direct_count(seeded, days):
    rollups.rebuild()
    period = selectors.period_of(days=days, end=today())
    for counted in (direct(period), direct(period.previous)):
        assert counted["mentions"] > 0 and counted["cases"] > 0, "the seed puts data in both periods"
    assert_agrees(selectors.dashboard(period=period), period)


def test_the_seed_exercises_every_panel(seeded):
    rollups.rebuild()
    period = selectors.period_of(days=30, end=today())
    data = selectors.dashboard(period=period)
    assert sum(data["response"]["escalations"].values()) and data["handoffs"]["handoffs"] and data["handoffs"]["notes"]
    assert data["problems"]["top"] and data["regions"]["located"] and data["volume"]["named_praise"] >= 0
    assert any("before" in problem for promise in data["loop"]["promises"] for problem in promise["problems"]), \
        "a resolved problem about a promise with a gap: the loop's before and after are checked"


def test_rebuild_twice_gives_the_same_rollups(seeded):
    first = rollups.rebuild()
    tables = rollup_tables()
    second = rollups.rebuild()
    assert first["rows"] == second["rows"] > 0
    assert rollup_tables() == tables == recomputed_tables()
