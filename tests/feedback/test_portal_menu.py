"""The main menu, the board's read-only promises, and refused requests logged as one line."""

import logging

import pytest
from django.urls import reverse

from feedback.understanding.models import Promise
from teams.models import Role
from tests.factories import BoardSeatFactory, MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


def _menu(html: str) -> str:
    return html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]


def test_members_have_problems_and_promises_heads_also_the_audit_log(client):
    agent = MembershipFactory(department=department("service")).user
    client.force_login(agent)
    menu = _menu(client.get(reverse("inbox")).content.decode())
    assert reverse("problems") in menu and reverse("promise-list") in menu
    assert reverse("audit-log") not in menu
    head = MembershipFactory(department=department("service"), role=Role.HEAD).user
    client.force_login(head)
    menu = _menu(client.get(reverse("inbox")).content.decode())
    assert reverse("audit-log") in menu and reverse("rule-list") in menu


def test_the_board_reads_the_promise_list_and_each_promise_s_aggregates_only(client):
    promise = Promise.objects.create(name="Bags arrive with you", slug="bags-test")
    client.force_login(BoardSeatFactory().user)
    page = client.get(reverse("board"))
    assert reverse("promise-list") in _menu(page.content.decode())
    listing = client.get(reverse("promise-list"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Bags arrive with you" in html
    assert reverse("promise-create") not in html
    # The posts behind a promise are customer data: the board's link leads to its aggregates only.
    detail = client.get(reverse("promise-detail", args=[promise.slug]))
    assert detail.status_code == 302 and detail.url == reverse("board-promise", args=[promise.slug])
    assert client.post(reverse("promise-toggle", args=[promise.slug])).status_code == 403


def test_a_permission_denial_is_one_log_line(client, caplog, settings):
    from config.log_filters import OneLineClientErrors

    assert "one_line_client_errors" in settings.LOGGING["handlers"]["console"]["filters"]
    client.force_login(MembershipFactory(department=department("service")).user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse("board")).status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    OneLineClientErrors().filter(record)
    formatted = logging.Formatter("%(levelname)s %(name)s %(message)s").format(record)
    assert formatted == ("WARNING django.request Forbidden (Permission denied): /board/ "
                         "(The board dashboard is for board members and department heads.)")
    assert "Traceback" not in formatted


def test_a_server_error_keeps_its_traceback():
    from config.log_filters import OneLineClientErrors

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: /x/", (),
                                   sys.exc_info())
    record.status_code = 500
    OneLineClientErrors().filter(record)
    assert record.exc_info is not None


def test_user_names_not_usernames_in_the_top_bar(client):
    user = MembershipFactory(user=UserFactory(username="pnair", first_name="Priya", last_name="Nair"),
                             department=department("service")).user
    client.force_login(user)
    html = client.get(reverse("inbox")).content.decode()
    assert "Priya Nair" in html and reverse("settings") in html
