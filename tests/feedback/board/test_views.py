"""The board pages: who may see them, the period, the charts' data, CSV, print, drill-down."""

import csv
import io
import json
import re

import pytest
from django.urls import reverse

from feedback.board import rollups
from feedback.board.models import SuggestedProblem
from feedback.intake.models import Mention
from teams.models import Role
from tests.factories import BoardSeatFactory, MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


@pytest.fixture
def board_client(client):
    client.force_login(BoardSeatFactory(user=UserFactory(username="chair")).user)
    return client


def _chart_data(html: str, chart_id: str) -> dict:
    return json.loads(re.search(rf'<script id="data-{chart_id}" type="application/json">(.*?)</script>', html,
                                re.S).group(1))


class TestAccess:
    @pytest.mark.parametrize("name", ["board", "board-print"])
    def test_login_required(self, client, name):
        response = client.get(reverse(name))
        assert response.status_code == 302 and reverse("login") in response["Location"]

    def test_an_agent_is_refused(self, service_client):
        assert service_client.get(reverse("board")).status_code == 403
        assert service_client.get(reverse("board-csv", args=["gap"])).status_code == 403

    def test_a_head_sees_the_aggregates(self, client):
        client.force_login(MembershipFactory(department=department("service"), role=Role.HEAD).user)
        assert client.get(reverse("board")).status_code == 200

    def test_a_board_member_sees_aggregates_but_no_posts(self, board_client, seeded, promises):
        rollups.rebuild()
        response = board_client.get(reverse("board-promise", args=[promises[0].slug]), {"days": 90})
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="no-drill"' in html and 'id="examples-shortfalls"' not in html
        assert not any(m.text in html for m in Mention.objects.filter(promise=promises[0])[:5])
        shown = int(re.search(r'id="promise-mentions">(\d+)<', html).group(1))
        assert shown > 0

    def test_a_department_member_on_the_board_drills_down_to_posts(self, client, seeded, promises):
        user = MembershipFactory(department=department("service"), role=Role.HEAD).user
        client.force_login(user)
        Mention.objects.filter(promise=promises[0]).update(text="My flight was four hours late, Houston again")
        rollups.rebuild()
        html = client.get(reverse("board-promise", args=[promises[0].slug]), {"days": 90}).content.decode()
        assert 'id="examples-shortfalls"' in html
        assert "four hours late, Houston again" in html


class TestDashboard:
    def test_every_chart_has_data_a_table_and_a_csv_link(self, board_client, seeded):
        rollups.rebuild()
        html = board_client.get(reverse("board"), {"days": 30}).content.decode()
        for chart_id in ("gap", "gap_trend", "reply", "reply_trend", "sla", "escalations", "volume_intent",
                         "volume_sentiment", "volume_source", "feedback_up", "problems", "response_promises"):
            assert f'data-chart="{chart_id}"' in html, chart_id
            data = _chart_data(html, chart_id)
            assert data["head"] and data["labels"] is not None
            assert f'href="{reverse("board-csv", args=[chart_id])}?days=30"' in html
        assert 'id="heat-grid"' in html
        assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and "handoffs, " in html  # the Sankey, with titles
        assert "<details" in html  # text alternatives
        assert 'style="' not in html and "<script>" not in html  # CSP: no inline style or script

    def test_the_csv_is_the_chart_data(self, board_client, seeded):
        rollups.rebuild()
        html = board_client.get(reverse("board")).content.decode()
        chart = _chart_data(html, "volume_intent")
        response = board_client.get(reverse("board-csv", args=["volume_intent"]))
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0] == chart["head"]
        assert [int(row[1]) for row in rows[1:]] == chart["datasets"][0]["data"]

    def test_a_bad_period_is_a_form_error(self, board_client):
        response = board_client.get(reverse("board"), {"days": "13", "end": "yesterday"})
        assert response.status_code == 400
        assert "errorlist" in response.content.decode()
        assert board_client.get(reverse("board-csv", args=["gap"]), {"end": "2999-01-01"}).status_code == 400
        assert board_client.get(reverse("board-csv", args=["nope"])).status_code == 404

    def test_the_print_summary_is_one_page_of_tables(self, board_client, seeded):
        rollups.rebuild()
        response = board_client.get(reverse("board-print"), {"days": 30})
        html = response.content.decode()
        assert response.status_code == 200
        assert "Board summary" in html and "Gap by promise" in html and "First reply by department" in html

    def test_suggested_problems_are_listed(self, board_client):
        SuggestedProblem.objects.create(computed_at="2026-11-01T00:00Z", rank=1, title="Texas · bags: lost, delayed",
                                        terms=["lost"], attributes={"region": ["Texas", 0.8]}, size=12, recent=9,
                                        earlier=3, growth=2.5)
        html = board_client.get(reverse("board")).content.decode()
        assert "Texas · bags: lost, delayed" in html and "region: Texas (80%)" in html

    def test_an_empty_dashboard(self, board_client):
        response = board_client.get(reverse("board"))
        assert response.status_code == 200
        html = response.content.decode()
        assert "No mentions about a promise in this period." in html
        # An empty chart is its sentence, not a frame of axes around nothing.
        assert "<canvas" not in html and 'id="empty-escalations"' in html and "No escalations in this period." in html

    def test_what_a_board_member_reads_first(self, board_client, seeded):
        """The posts without a known location are a row apart, not the darkest cells of the grid; a promise
        with no mentions before says so instead of a change from nothing; durations never break from their unit."""
        rollups.rebuild()
        html = board_client.get(reverse("board"), {"days": 30}).content.decode()
        unplaced = re.search(r'<tr class="unplaced">(.*?)</tr>', html, re.S)
        assert unplaced and "No known location" in unplaced.group(1) and "heat-" not in unplaced.group(1)
        assert ">Unknown<" not in html
        gap_table = re.search(r'<table class="cases compact" id="gap-table">(.*?)</table>', html, re.S).group(1)
        assert "(was — on 0" not in gap_table
        median = re.search(r'id="kpi-median">(.*?)</span>', html).group(1)
        assert median.startswith("≤&nbsp;") and " min" not in median and " h" not in median


def test_the_board_reads_promises_but_not_their_posts(board_client, promises):
    assert board_client.get(reverse("promise-list")).status_code == 200
    response = board_client.get(reverse("promise-detail", args=[promises[0].slug]))
    assert response.status_code == 302
    assert response["Location"] == reverse("board-promise", args=[promises[0].slug])


def test_a_head_confirms_a_suggested_problem(client, seeded):
    service = department("service")
    head = MembershipFactory(department=service, role=Role.HEAD).user
    mentions = list(Mention.objects.filter(case__department=service, case__status="new")[:4])
    suggestion = SuggestedProblem.objects.create(
        computed_at="2026-11-01T00:00Z", rank=1, title="Texas · delays", terms=["delay"],
        attributes={"region": ["Texas", 0.8]}, size=4, recent=3, earlier=1, growth=2.0,
        mention_ids=[m.pk for m in mentions])
    client.force_login(head)
    assert 'action="/board/suggestions/' in client.get(reverse("board")).content.decode()
    response = client.post(reverse("board-confirm-suggestion", args=[suggestion.pk]), {"department": service.pk})
    assert response.status_code == 302
    from feedback.cases.models import Problem

    problem = Problem.objects.get(title="Texas · delays")
    assert problem.owner_department == service
    assert problem.cases.count() == len({m.case_id for m in mentions}) > 0
    assert not SuggestedProblem.objects.filter(pk=suggestion.pk).exists()


def test_an_agent_cannot_confirm(service_client):
    suggestion = SuggestedProblem.objects.create(computed_at="2026-11-01T00:00Z", rank=1, title="x", size=5,
                                                 recent=1, earlier=1, growth=1)
    response = service_client.post(reverse("board-confirm-suggestion", args=[suggestion.pk]),
                                   {"department": department("service").pk})
    assert response.status_code == 403


def test_the_cached_dashboard_follows_the_rollups(board_client, seeded):
    from feedback.board import selectors

    rollups.rebuild()
    period = selectors.period_of(days=30)
    first = selectors.cached_dashboard(period=period)
    assert selectors.cached_dashboard(period=period) == first  # read again, not recomputed
    Mention.objects.filter(promise__isnull=False).update(promise=None)
    assert selectors.cached_dashboard(period=period)["gap"]["mentions"] == first["gap"]["mentions"] > 0
    rollups.rebuild()  # a refresh writes rollups: a new version
    assert selectors.cached_dashboard(period=period)["gap"]["mentions"] == 0
