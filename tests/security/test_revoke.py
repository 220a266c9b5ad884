"""Sessions and API tokens are revocable: `manage.py revoke_access`, deactivation and password changes."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get(reverse("inbox")).status_code == 200
    return client


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def agent(db):
    return MembershipFactory(user=UserFactory(username="priya"), department=department("service")).user


def test_revoke_access_ends_every_session_and_the_token(agent):
    laptop, phone = _signed_in(agent), _signed_in(agent)
    colleague = _signed_in(MembershipFactory(user=UserFactory(username="jo"), department=department("service")).user)
    api = _token_client(agent)
    assert api.get(reverse("api-schema")).status_code == 200

    out = StringIO()
    call_command("revoke_access", "priya", stdout=out)
    assert "priya: 2 session(s) ended, 1 API token(s) deleted." in out.getvalue()
    for client in (laptop, phone):
        response = client.get(reverse("inbox"))
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert api.get(reverse("api-schema")).status_code == 401
    assert colleague.get(reverse("inbox")).status_code == 200  # nobody else is signed out

    agent.refresh_from_db()
    assert agent.is_active
    assert Client().post(reverse("login"), {"username": "priya", "password": "pw"}).status_code == 302


def test_deactivate_refuses_the_user_from_now_on(agent):
    call_command("revoke_access", "priya", "--deactivate", stdout=StringIO())
    agent.refresh_from_db()
    assert not agent.is_active
    response = Client().post(reverse("login"), {"username": "priya", "password": "pw"})
    assert response.status_code == 200 and "_auth_user_id" not in response.client.session


def test_an_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("revoke_access", "nobody")


def test_a_password_change_ends_the_other_sessions(agent):
    other = _signed_in(agent)
    agent.set_password("a-brand-new-passphrase")
    agent.save()
    response = other.get(reverse("inbox"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_password_change_page_keeps_this_session_and_ends_the_others(agent):
    """The settings page links to Django's password change, in the portal's look; a wrong current password or a
    weak new one is refused with the reason; a good one keeps this session and signs the others out."""
    laptop, phone = _signed_in(agent), _signed_in(agent)
    settings_page = laptop.get(reverse("settings")).content.decode()
    assert f'href="{reverse("password_change")}"' in settings_page
    page = laptop.get(reverse("password_change"))
    html = page.content.decode()
    assert page.status_code == 200 and 'class="topbar"' in html and "Change your password" in html
    for label in ("Your current password", "New password", "The new password again"):
        assert f'<span class="label-text">{label}</span>' in html
    wrong = laptop.post(reverse("password_change"), {"old_password": "not-it", "new_password1": "Gr33n-Lantern-77",
                                                     "new_password2": "Gr33n-Lantern-77"})
    assert wrong.status_code == 200 and "Your old password was entered incorrectly" in wrong.content.decode()
    weak = laptop.post(reverse("password_change"), {"old_password": "pw", "new_password1": "12345678",
                                                    "new_password2": "12345678"})
    assert weak.status_code == 200 and "This password is too common." in weak.content.decode()
    done = laptop.post(reverse("password_change"), {"old_password": "pw", "new_password1": "Gr33n-Lantern-77",
                                                    "new_password2": "Gr33n-Lantern-77"})
    assert done.status_code == 302 and done.url == reverse("password_change_done")
    assert "Password changed" in laptop.get(done.url).content.decode()
    assert laptop.get(reverse("inbox")).status_code == 200  # this session stays
    signed_out = phone.get(reverse("inbox"))
    assert signed_out.status_code == 302 and signed_out.url.startswith(reverse("login"))
    assert Client().post(reverse("login"), {"username": "priya", "password": "Gr33n-Lantern-77"}).status_code == 302


def test_the_password_change_page_is_for_signed_in_people():
    response = Client().get(reverse("password_change"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
