"""Signing in: login throttling (django-axes), the demo password with DEBUG off, the address that is counted."""

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from config import auth
from feedback import demo
from tests.factories import MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


def _login(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_thirty_wrong_passwords_are_throttled_with_a_clear_message(client, settings):
    MembershipFactory(user=UserFactory(username="grace"), department=department("hr"))
    statuses = [_login(client, "grace", f"guess-{attempt}").status_code for attempt in range(30)]
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    assert statuses == [200] * (limit - 1) + [429] * (30 - limit + 1)

    locked = _login(client, "grace", "pw")  # the right password, while locked out
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed logins" in page and "grace" in page and "5 times" in page
    assert "0:15:00" in page  # the cool-off
    assert locked.headers["Content-Security-Policy"]
    assert "_auth_user_id" not in client.session

    other_address = _login(client, "grace", "pw", REMOTE_ADDR="10.1.2.3")  # the lock is per username and address
    assert other_address.status_code == 302


def test_a_lockout_is_lifted_by_axes_reset(client):
    UserFactory(username="tom")
    for attempt in range(5):
        _login(client, "tom", f"guess-{attempt}")
    assert _login(client, "tom", "pw").status_code == 429
    call_command("axes_reset", verbosity=0)
    assert _login(client, "tom", "pw").status_code == 302


def test_a_success_clears_the_count_of_failures(client):
    UserFactory(username="ana")
    for _ in range(2):
        for attempt in range(4):
            assert _login(client, "ana", f"guess-{attempt}").status_code == 200
        assert _login(client, "ana", "pw").status_code == 302
        client.post(reverse("logout"))


def test_the_counted_address_ignores_forwarded_for_unless_a_proxy_is_trusted(settings):
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9")
    settings.BATON_TRUSTED_PROXY = False
    assert auth.client_ip(request) == "10.0.0.5"  # a client could send any X-Forwarded-For
    settings.BATON_TRUSTED_PROXY = True
    assert auth.client_ip(request) == "203.0.113.9"  # what the trusted proxy appended
    assert auth.client_ip(RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.5")) == "10.0.0.5"


def test_spoofed_forwarded_for_does_not_escape_the_lockout(client, settings):
    settings.BATON_TRUSTED_PROXY = False
    UserFactory(username="leo")
    statuses = [_login(client, "leo", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(8)]
    assert statuses[-1] == 429


# --- Demo logins ---------------------------------------------------------------------------------------


def _demo_user(username="admin", **fields):
    user = UserFactory(username=username, **fields)
    user.set_password(demo.DEMO_PASSWORD)
    user.save()
    return user


def test_the_demo_password_is_refused_with_debug_off(client, settings):
    _demo_user("admin", is_staff=True, is_superuser=True)
    settings.DEBUG = False
    response = _login(client, "admin", demo.DEMO_PASSWORD)
    assert response.status_code == 200 and "did not match" in response.content.decode()
    assert "_auth_user_id" not in client.session
    admin_login = client.post(reverse("admin:login"), {"username": "admin", "password": demo.DEMO_PASSWORD})
    assert admin_login.status_code == 200 and "_auth_user_id" not in client.session


def test_the_demo_password_works_with_debug_on(client, settings):
    _demo_user("admin")
    settings.DEBUG = True
    assert _login(client, "admin", demo.DEMO_PASSWORD).status_code == 302


def test_a_demo_session_opened_with_debug_on_ends_when_debug_is_off(client, settings):
    user = _demo_user("service")
    MembershipFactory(user=user, department=department("service"))
    settings.DEBUG = True
    assert _login(client, "service", demo.DEMO_PASSWORD).status_code == 302
    assert client.get(reverse("inbox")).status_code == 200
    settings.DEBUG = False
    response = client.get(reverse("inbox"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_demo_user_whose_password_was_changed_signs_in_with_debug_off(client, settings):
    user = _demo_user("service")
    MembershipFactory(user=user, department=department("service"))
    user.set_password("a-new-long-passphrase")
    user.save()
    settings.DEBUG = False
    assert _login(client, "service", "a-new-long-passphrase").status_code == 302
    assert client.get(reverse("inbox")).status_code == 200


def test_the_guard_knows_every_demo_username():
    assert {spec.username for spec in demo.DEMO_USERS} == auth.DEMO_USERNAMES
