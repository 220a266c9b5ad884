"""What admins change beyond the settings is audited: people's accounts (never a password's hash), connected brand
accounts and their sending credentials (never a secret), API tokens, webhook subscriptions and problems."""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from customers.webhooks.models import WebhookSubscription
from feedback.cases import problems
from feedback.intake.models import Account
from feedback.integrations.models import ApiToken
from feedback.integrations.services import token_for_key
from feedback.replies.models import SendingCredential
from teams.models import Role
from tests.factories import CaseFactory, MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = UserFactory(username="root", first_name="Ada", last_name="Admin", is_superuser=True, is_staff=True)
    client.force_login(user)
    return user


def _log(client, **params):
    response = client.get(reverse("audit-log"), params)
    assert response.status_code == 200
    return response


def _rows(response):
    return [(entry.who, entry.action, entry.object_name, [(c.field, c.before, c.after) for c in entry.changes])
            for entry in response.context["entries"]]


def _history_columns(model) -> set[str]:
    with connection.cursor() as cursor:
        return {column.name for column in connection.introspection.get_table_description(
            cursor, model.history.model._meta.db_table)}


class TestPeoplesAccounts:
    def test_created_given_rights_and_groups_renamed_deactivated_in_the_admin(self, client, admin):
        support = Group.objects.create(name="Support desk")
        response = client.post(reverse("admin:auth_user_add"), {
            "username": "priya", "password1": "a-Long-secret-9", "password2": "a-Long-secret-9",
            "usable_password": "true"})
        assert response.status_code == 302
        priya = get_user_model().objects.get(username="priya")
        form = {"username": "priya", "first_name": "Priya", "last_name": "Shah", "email": "priya@example.com",
                "is_active": "on", "is_staff": "on", "groups": [support.pk],
                "date_joined_0": "2026-11-01", "date_joined_1": "09:00:00",
                "initial-date_joined_0": "2026-11-01", "initial-date_joined_1": "09:00:00"}
        assert client.post(reverse("admin:auth_user_change", args=[priya.pk]), form).status_code == 302
        form.pop("is_active")
        assert client.post(reverse("admin:auth_user_change", args=[priya.pk]), form).status_code == 302

        response = _log(client, model="auth.user", q="priya")
        rows = _rows(response)
        assert all(who == "Ada Admin" for who, *_ in rows)
        assert ("active", "yes", "no") in rows[0][3]
        changed = {change for _, action, _, changes in rows[1:] if action == "changed" for change in changes}
        assert {("staff status", "no", "yes"), ("first name", "—", "Priya"), ("groups", "—", "Support desk"),
                ("email address", "—", "priya@example.com")} <= changed
        created = rows[-1]
        assert created[1:3] == ("created", "priya")
        assert ("password", "—", "set") in created[3] and ("username", "—", "priya") in created[3]
        html = response.content.decode()
        assert "no → yes" in html and "Support desk" in html
        assert priya.password not in html and "pbkdf2" not in html
        # The hash is not in the history table at all, nor the last login.
        assert {"password", "last_login"}.isdisjoint(_history_columns(get_user_model()))

    def test_a_password_changed_is_said_never_shown(self, client, admin):
        dana = UserFactory(username="dana", first_name="Dana", last_name="Ortiz")
        assert client.post(reverse("admin:auth_user_password_change", args=[dana.pk]), {
            "password1": "n3w-Secret-pass", "password2": "n3w-Secret-pass", "usable_password": "true",
        }).status_code == 302
        dana.refresh_from_db()
        client.force_login(dana)  # and she changes it herself on the portal's page
        assert client.post(reverse("password_change"), {
            "old_password": "n3w-Secret-pass", "new_password1": "an0ther-Secret!", "new_password2": "an0ther-Secret!",
        }).status_code == 302
        client.force_login(admin)
        rows = _rows(_log(client, model="auth.user", q="dana"))
        assert [(who, action, changes) for who, action, _, changes in rows[:2]] == [
            ("Dana Ortiz", "changed", [("password", "not shown", "changed")]),
            ("Ada Admin", "changed", [("password", "not shown", "changed")]),
        ]
        assert _log(client, model="auth.user", q="password").context["total"] >= 2

    def test_a_login_or_a_hash_upgrade_is_no_change(self, client, admin):
        erin = UserFactory(username="erin")
        records = erin.history.count()
        client.logout()
        signed_in = client.post(reverse("login"), {"username": "erin", "password": "pw"})
        assert signed_in.status_code == 302  # last_login written
        assert get_user_model().objects.get(pk=erin.pk).last_login is not None
        # An older hasher's hash, upgraded at the next login (Django saves the password alone).
        get_user_model().objects.filter(pk=erin.pk).update(password=make_password("pw", hasher="md5"))
        client.logout()
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                                 "django.contrib.auth.hashers.MD5PasswordHasher"]):
            assert client.post(reverse("login"), {"username": "erin", "password": "pw"}).status_code == 302
        assert get_user_model().objects.get(pk=erin.pk).password.startswith("pbkdf2")
        assert erin.history.count() == records

    def test_heads_do_not_see_peoples_accounts(self, client):
        head = MembershipFactory(department=department("service"), role=Role.HEAD).user
        UserFactory(username="someone-new")
        client.force_login(head)
        assert _log(client, model="auth.user").context["total"] == 0
        assert "auth.user" in dict(_log(client).context["model_choices"])


class TestBrandAccountsAndCredentials:
    def test_connected_changed_disconnected_and_removed_without_a_secret(self, client, admin):
        fields = {"platform": "x", "slug": "airline-x", "handle": "airline", "platform_user_id": "42",
                  "is_active": "on", "secret_env": "", "verify_token_env": "", "new_secret": "consumer-SECRET-1234",
                  "new_verify_token": ""}
        assert client.post(reverse("admin:feedback_account_add"), fields).status_code == 302
        account = Account.objects.get(slug="airline-x")
        fields.update(new_secret="consumer-SECRET-5678", handle="airline_help")
        assert client.post(reverse("admin:feedback_account_change", args=[account.pk]), fields).status_code == 302
        fields.update(new_secret="")
        fields.pop("is_active")  # disconnected
        assert client.post(reverse("admin:feedback_account_change", args=[account.pk]), fields).status_code == 302
        assert client.post(reverse("admin:feedback_sendingcredential_add"), {
            "account": account.pk, "new_token": "oauth-TOKEN-abcd"}).status_code == 302
        credential = SendingCredential.objects.get(account=account)
        assert client.post(reverse("admin:feedback_sendingcredential_change", args=[credential.pk]), {
            "account": account.pk, "new_token": "oauth-TOKEN-efgh"}).status_code == 302

        response = _log(client, q="airline")
        rows = [(action, name, changes) for _, action, name, changes in _rows(response)]
        assert rows == [
            ("changed", "X (Twitter) @airline_help", [("token", "not shown", "changed")]),
            ("created", "X (Twitter) @airline_help", [("account", "—", "X (Twitter) @airline_help"),
                                                      ("token", "—", "set")]),
            ("changed", "@airline_help", [("is active", "yes", "no")]),
            ("changed", "@airline_help", [("handle", "airline", "airline_help"), ("secret", "not shown", "changed")]),
            ("created", "@airline", rows[4][2]),
        ]
        assert {("platform", "—", "x"), ("slug", "—", "airline-x"), ("secret", "—", "set")} <= set(rows[4][2])
        assert all(who == "Ada Admin" for who, *_ in _rows(response))
        html = response.content.decode()
        for secret in ("consumer-SECRET", "oauth-TOKEN", "1234", "5678", "abcd", "efgh"):
            assert secret not in html
        assert {"secret_ciphertext", "verify_token_ciphertext"}.isdisjoint(_history_columns(Account))
        assert "token_ciphertext" not in _history_columns(SendingCredential)

        # Removed: the account and, with it, its credential.
        assert client.post(reverse("admin:feedback_account_delete", args=[account.pk]), {"post": "yes"}).status_code == 302
        deleted = [(entry.action, entry.model) for entry in _log(client).context["entries"][:2]]
        assert sorted(deleted) == [("deleted", "account"), ("deleted", "sending credential")]


class TestApiTokensAndWebhooks:
    def test_tokens_made_and_revoked_on_the_tokens_page(self, client, admin):
        response = client.post(reverse("integration-tokens"), {"name": "Salesforce sync", "scopes": ["customers:read"]})
        key = response.context["new_key"]
        token = ApiToken.objects.get(name="Salesforce sync")
        assert token_for_key(key) is not None  # used: not a change
        client.post(reverse("integration-token-revoke", args=[token.pk]))
        response = _log(client, model="feedback.apitoken")
        rows = _rows(response)
        assert [(who, action, name) for who, action, name, _ in rows] == [
            ("Ada Admin", "changed", "Salesforce sync"), ("Ada Admin", "created", "Salesforce sync")]
        assert ("revoked by", "—", "Ada Admin") in rows[0][3]
        assert ("scopes", "—", "customers:read") in rows[1][3]
        html = response.content.decode()
        assert key not in html and token.key_hash not in html
        assert {"key_hash", "last_used_at"}.isdisjoint(_history_columns(ApiToken))
        assert _log(client, q="salesforce", model="feedback.apitoken").context["total"] == 2

    def test_webhook_subscriptions_changed_through_the_api_name_the_integration(self, client, admin, crm_client):
        with mock.patch("customers.webhooks.targets.check_url", return_value=[]):
            created = crm_client.post("/api/v1/webhooks/", {
                "name": "CRM receiver", "url": "https://crm.example.com/hooks", "event_types": ["case.created"]},
                format="json")
            assert created.status_code == 201, created.content
            subscription_id = created.json()["id"]
            assert crm_client.patch(f"/api/v1/webhooks/{subscription_id}/", {"is_active": False},
                                    format="json").status_code == 200
            assert crm_client.delete(f"/api/v1/webhooks/{subscription_id}/").status_code == 204
        assert not WebhookSubscription.objects.exists()
        response = _log(client, model="customers.webhooksubscription")
        entries = response.context["entries"]
        assert [(entry.who, entry.action, entry.reason) for entry in entries] == [
            ("the system", "deleted", "via integration:CRM"), ("the system", "changed", "via integration:CRM"),
            ("the system", "created", "via integration:CRM")]
        assert [(c.field, c.before, c.after) for c in entries[1].changes] == [("is active", "yes", "no")]
        assert ("signing secret", "—", "set") in [(c.field, c.before, c.after) for c in entries[2].changes]
        assert created.json()["secret"] not in response.content.decode()


class TestProblems:
    def test_opened_and_resolved_seen_by_the_owner_departments_head(self, client):
        agent = MembershipFactory(user=UserFactory(username="alice", first_name="Alice", last_name="Agent"),
                                  department=department("service")).user
        problem = problems.link_case(case=CaseFactory(), by=agent, title="Lost bags at LIS")
        problems.resolve_problem(problem=problem, by=agent, note="Belt repaired.", resolve_cases=True)
        head = MembershipFactory(department=department("service"), role=Role.HEAD).user
        client.force_login(head)
        rows = _rows(_log(client, model="feedback.problem"))
        assert [(who, action, name) for who, action, name, _ in rows] == [
            ("Alice Agent", "changed", "Lost bags at LIS"), ("Alice Agent", "created", "Lost bags at LIS")]
        assert ("status", "open", "resolved") in rows[0][3] and ("resolution", "—", "Belt repaired.") in rows[0][3]
        assert ("owner department", "—", "Customer service") in rows[1][3]
        other = MembershipFactory(department=department("sales"), role=Role.HEAD).user
        client.force_login(other)
        assert _log(client, model="feedback.problem").context["total"] == 0
