"""The CRM sync API through Django's test client: scopes, sync pagination, filters, bulk upsert,
idempotency, ETag / If-Match, rate limits and the error shape."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers.models import Customer, Stage
from feedback.integrations.models import ApiToken
from feedback.integrations.services import revoke_token
from tests.factories import CaseFactory, CustomerFactory, IdentityFactory, MentionFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_without_settling")]

CUSTOMERS = "/api/v1/customers/"
BULK = "/api/v1/customers/bulk/"



def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code, body
    assert body["message"]
    return body


def _sync(client, url=CUSTOMERS, **params):
    """Every page of a list; returns (rows, last cursor)."""
    rows, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get(url, query).json()
        rows += body["results"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return rows, cursor


# --- Tokens and scopes ------------------------------------------------------------------------------------

def test_the_key_is_stored_hashed_and_a_revoked_token_is_refused(integration_key):
    key = integration_key(["customers:read"])
    token = ApiToken.objects.get()
    assert key not in (token.key_hash, token.prefix) and key.startswith(token.prefix)
    assert _client(key).get(CUSTOMERS).status_code == 200
    revoke_token(token_id=token.pk, by=UserFactory(username="root", is_superuser=True))
    _assert_error(_client(key).get(CUSTOMERS), 401, "authentication_failed")
    _assert_error(_client(key[:-1] + ("A" if key[-1] != "A" else "B")).get(CUSTOMERS), 401, "authentication_failed")


def test_each_operation_needs_its_scope(integration_key):
    reader = _client(integration_key(["customers:read"]))
    assert reader.get(CUSTOMERS).status_code == 200
    body = _assert_error(reader.post(BULK, [{"external_id": "a"}], format="json"), 403, "permission_denied")
    assert "customers:write" in body["message"]
    _assert_error(reader.get("/api/v1/cases/"), 403, "permission_denied")
    _assert_error(reader.get("/api/v1/mentions/"), 403, "permission_denied")
    _assert_error(reader.get("/api/v1/webhooks/"), 403, "permission_denied")
    assert not Customer.objects.exists()


def test_mention_intake_needs_mentions_write(integration_key):
    mention = {"source": "x", "external_id": "9", "author_handle": "dana", "posted_at": "2026-11-25T09:00:00Z",
               "text": "@airline my bag did not arrive"}
    reader = _client(integration_key(["mentions:read"]))
    _assert_error(reader.post("/api/v1/mentions/", mention, format="json"), 403, "permission_denied")
    writer = _client(integration_key(["mentions:write"]))
    assert writer.post("/api/v1/mentions/", mention, format="json").status_code == 201
    _assert_error(writer.get("/api/v1/mentions/"), 403, "permission_denied")


def test_a_user_token_is_not_an_integration():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(username='u')).key}")
    _assert_error(client.get(CUSTOMERS), 403, "permission_denied")


# --- Customers: listing ------------------------------------------------------------------------------------

def test_a_full_sync_returns_every_customer_once_in_updated_order(crm_client):
    customers = CustomerFactory.create_batch(25)
    rows, cursor = _sync(crm_client, page_size=7)
    assert sorted(row["id"] for row in rows) == sorted(customer.pk for customer in customers)
    assert len(rows) == 25
    assert [(row["updated_at"], row["id"]) for row in rows] == sorted((row["updated_at"], row["id"]) for row in rows)
    assert cursor
    # Nothing changed: the last cursor gives nothing more.
    body = crm_client.get(CUSTOMERS, {"cursor": cursor}).json()
    assert body == {"results": [], "next_cursor": cursor, "has_more": False}


def test_changes_during_a_sync_come_once_at_the_end(crm_client):
    customers = CustomerFactory.create_batch(10)
    first = crm_client.get(CUSTOMERS, {"page_size": 4}).json()
    seen = [row["id"] for row in first["results"]]
    # During the sync: one row already sent and one not yet sent change, and a new one arrives.
    changed_seen, changed_unseen = seen[0], next(c.pk for c in customers if c.pk not in seen)
    response = crm_client.post(BULK, [
        {"external_id": Customer.objects.get(pk=changed_seen).external_id, "stage": "customer"},
        {"external_id": Customer.objects.get(pk=changed_unseen).external_id, "stage": "lead"},
        {"external_id": "new-during-sync", "name": "Nora"},
    ], format="json")
    assert response.json()["updated"] == 2 and response.json()["created"] == 1
    rest, cursor = _sync(crm_client, cursor=first["next_cursor"], page_size=4)
    ids = seen + [row["id"] for row in rest]
    new_id = Customer.objects.get(external_id="new-during-sync").pk
    # Every customer arrived; only the one changed after it was sent comes twice, the second time changed.
    assert set(ids) == {c.pk for c in customers} | {new_id}
    assert len(ids) == 12 and ids.count(changed_seen) == 2
    assert ids.count(changed_unseen) == 1 and ids.count(new_id) == 1
    assert [row for row in rest if row["id"] == changed_seen][0]["stage"] == "customer"
    # Incremental: later, only what changed since.
    Customer.objects.filter(pk=customers[5].pk).update(name="Changed later", updated_at=timezone.now())
    later, _ = _sync(crm_client, cursor=cursor)
    assert [row["id"] for row in later] == [customers[5].pk]


def test_rows_still_settling_wait_for_the_next_sync(crm_client, settings):
    settings.BATON_API_SYNC_SETTLE_SECONDS = 60
    old = CustomerFactory()
    Customer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    CustomerFactory()  # just written: a transaction stamped like it may still be committing
    body = crm_client.get(CUSTOMERS).json()
    assert [row["id"] for row in body["results"]] == [old.pk]


def test_filters(crm_client):
    old = CustomerFactory(stage=Stage.LEAD)
    Customer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    lead = CustomerFactory(stage=Stage.LEAD, external_id="crm-lead")
    CustomerFactory(stage=Stage.CUSTOMER)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    rows = crm_client.get(CUSTOMERS, {"stage": "lead", "updated_since": since}).json()["results"]
    assert [row["id"] for row in rows] == [lead.pk]
    rows = crm_client.get(CUSTOMERS, {"external_id": "crm-lead"}).json()["results"]
    assert [row["id"] for row in rows] == [lead.pk]
    body = _assert_error(crm_client.get(CUSTOMERS, {"stage": "vip", "updated_since": "tomorrow"}), 400, "invalid")
    assert set(body["fields"]) == {"stage", "updated_since"}


@pytest.mark.parametrize("params", [
    {"cursor": "not-a-cursor"}, {"cursor": "MjAyNnwx"}, {"page_size": "0"}, {"page_size": "1001"},
    {"page_size": "²"}, {"updated_since": "9999-12-31T23:59:59-23:00"}, {"external_id": "a\x00b"},
])
def test_bad_list_parameters_are_400(crm_client, params):
    response = crm_client.get(CUSTOMERS, params)
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "fields"}


def test_listing_costs_a_fixed_number_of_queries(crm_client, django_assert_max_num_queries):
    CustomerFactory.create_batch(5)
    with django_assert_max_num_queries(4):  # token, touch, page
        crm_client.get(CUSTOMERS)
    CustomerFactory.create_batch(50)
    with django_assert_max_num_queries(3):
        assert len(crm_client.get(CUSTOMERS).json()["results"]) == 55


def test_one_customer_with_identities_and_etag(crm_client):
    customer = CustomerFactory(name="Dana")
    IdentityFactory(customer=customer, handle="dana_x")
    response = crm_client.get(f"{CUSTOMERS}{customer.pk}/")
    assert response.status_code == 200
    assert response["ETag"].startswith('"')
    body = response.json()
    assert body["name"] == "Dana" and body["identities"][0]["handle"] == "dana_x"
    for bad in ("0", "99999999999999999999999", "abc", str(customer.pk + 1000)):
        _assert_error(crm_client.get(f"{CUSTOMERS}{bad}/"), 404, "not_found")


# --- Customers: writing -----------------------------------------------------------------------------------------

def test_bulk_upsert_reports_each_row(crm_client):
    CustomerFactory(external_id="known", name="Kim", stage=Stage.LEAD)
    CustomerFactory(external_id="same", name="Sam", stage=Stage.LEAD)
    rows = [
        {"external_id": "new-1", "name": "Nia", "email": "NIA@example.com", "stage": "customer", "value": "120.50"},
        {"external_id": "known", "stage": "customer", "value": 99},
        {"external_id": "same", "name": "Sam", "stage": "lead"},
        {"external_id": "bad", "email": "not an email", "stage": "vip", "value": "1.234", "colour": "red"},
        {"name": "No id"},
        "not an object",
        {"external_id": "new-1", "name": "Twice"},
    ]
    response = crm_client.post(BULK, rows, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["errors"]) == (1, 1, 1, 4)
    outcomes = [row["outcome"] for row in body["results"]]
    assert outcomes == ["created", "updated", "unchanged", "error", "error", "error", "error"]
    assert set(body["results"][3]["fields"]) == {"email", "stage", "value", "colour"}
    assert body["results"][4]["fields"] == {"external_id": ["This field is required."]}
    assert "non_field_errors" in body["results"][5]["fields"]
    assert "Repeats item 0" in body["results"][6]["fields"]["external_id"][0]
    new = Customer.objects.get(external_id="new-1")
    assert (new.email, new.stage, str(new.value)) == ("nia@example.com", "customer", "120.50")
    assert body["results"][0]["id"] == new.pk
    known = Customer.objects.get(external_id="known")
    assert (known.name, known.stage, str(known.value)) == ("Kim", "customer", "99.00")


def test_bulk_upsert_bodies_it_cannot_take(crm_client):
    _assert_error(crm_client.post(BULK, {"external_id": "a"}, format="json"), 400, "invalid_body")
    _assert_error(crm_client.post(BULK, [], format="json"), 400, "invalid_body")
    _assert_error(crm_client.post(BULK, [{"external_id": str(i)} for i in range(1001)], format="json"), 400,
                  "too_many_items")
    _assert_error(crm_client.post(BULK, "{", content_type="application/json"), 400, "parse_error")
    assert not Customer.objects.exists()


def test_a_replayed_idempotency_key_returns_the_stored_answer(crm_client):
    rows = [{"external_id": "idem-1", "name": "Ida"}]
    first = crm_client.post(BULK, rows, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.json()["created"] == 1
    Customer.objects.filter(external_id="idem-1").update(name="Changed meanwhile")
    replay = crm_client.post(BULK, rows, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert replay.status_code == 200 and replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Customer.objects.get(external_id="idem-1").name == "Changed meanwhile"  # not run again
    _assert_error(crm_client.post(BULK, [{"external_id": "other"}], format="json", HTTP_IDEMPOTENCY_KEY="key-1"),
                  422, "idempotency_key_reused")
    _assert_error(crm_client.post(BULK, rows, format="json", HTTP_IDEMPOTENCY_KEY="x" * 201), 400, "invalid")
    # Without a key, the same rows are simply upserted again.
    again = crm_client.post(BULK, rows, format="json").json()
    assert again["results"][0]["outcome"] == "updated"


def test_if_match_guards_single_updates(crm_client):
    customer = CustomerFactory(name="Ann", stage=Stage.LEAD)
    url = f"{CUSTOMERS}{customer.pk}/"
    etag = crm_client.get(url)["ETag"]
    _assert_error(crm_client.patch(url, {"stage": "customer"}, format="json"), 428, "precondition_required")
    response = crm_client.patch(url, {"stage": "customer"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200 and response.json()["stage"] == "customer"
    new_etag = response["ETag"]
    assert new_etag != etag
    # A second writer still holding the old ETag is refused, and nothing changes.
    _assert_error(crm_client.patch(url, {"name": "Overwritten"}, format="json", HTTP_IF_MATCH=etag), 412,
                  "precondition_failed")
    assert Customer.objects.get(pk=customer.pk).name == "Ann"
    body = _assert_error(crm_client.patch(url, {"stage": "vip", "external_id": "x"}, format="json",
                                          HTTP_IF_MATCH=new_etag), 400, "invalid")
    assert set(body["fields"]) == {"stage", "external_id"}
    assert crm_client.patch(url, {"name": "Anne"}, format="json", HTTP_IF_MATCH=new_etag).json()["name"] == "Anne"


# --- Cases and mentions ----------------------------------------------------------------------------------------

def test_cases_and_mentions_lists_and_details(crm_client):
    customer = CustomerFactory(external_id="crm-77")
    case = CaseFactory(customer=customer, status="open")
    CaseFactory(status="resolved")
    mention = MentionFactory(customer=customer, case=case)
    rows, _ = _sync(crm_client, "/api/v1/cases/", status="open")
    assert [row["id"] for row in rows] == [case.pk]
    assert rows[0]["customer_external_id"] == "crm-77" and rows[0]["department"] == "service"
    rows, _ = _sync(crm_client, "/api/v1/cases/", customer_external_id="crm-77")
    assert [row["id"] for row in rows] == [case.pk]
    assert crm_client.get(f"/api/v1/cases/{case.pk}/").json()["status"] == "open"
    rows, _ = _sync(crm_client, "/api/v1/mentions/", customer=customer.pk)
    assert [row["id"] for row in rows] == [mention.pk]
    assert crm_client.get(f"/api/v1/mentions/{mention.pk}/").json()["case"] == case.pk
    _assert_error(crm_client.get("/api/v1/cases/", {"customer": "99999999999999999999"}), 400, "invalid")
    _assert_error(crm_client.get("/api/v1/mentions/999999/"), 404, "not_found")


# --- Rate limits --------------------------------------------------------------------------------------------------

def test_a_token_over_its_rate_gets_429_with_retry_after(integration_key):
    limited = _client(integration_key(["customers:read"], name="small", rate_per_minute=3))
    other = _client(integration_key(["customers:read"], name="other", rate_per_minute=3))
    assert [limited.get(CUSTOMERS).status_code for _ in range(3)] == [200, 200, 200]
    response = limited.get(CUSTOMERS)
    _assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert other.get(CUSTOMERS).status_code == 200  # per token


# --- Inputs that must never be a 500 -----------------------------------------------------------------------------

def test_hostile_bodies_get_400(crm_client):
    customer = CustomerFactory()
    etag = crm_client.get(f"{CUSTOMERS}{customer.pk}/")["ETag"]
    _assert_error(crm_client.post(BULK, "[" * 100_000, content_type="application/json"), 400, "parse_error")
    body = crm_client.post(BULK, '[{"external_id": "\\ud800", "stage": "\\udfff", "\\ud801": 1}]',
                           content_type="application/json").json()
    assert body["errors"] == 1 and set(body["results"][0]["fields"]) == {"external_id", "stage", "?"}
    _assert_error(crm_client.patch(f"{CUSTOMERS}{customer.pk}/", '{"name": "\\ud800"}', content_type="application/json",
                                   HTTP_IF_MATCH=etag), 400, "invalid")
    rows = [{"external_id": "big", "value": 10**400}, {"external_id": "inf", "value": "Infinity"},
            {"external_id": 12}, {"external_id": "n", "name": None}]
    body = crm_client.post(BULK, rows, format="json").json()
    assert [row["outcome"] for row in body["results"]] == ["error"] * 4
    _assert_error(crm_client.post("/api/v1/webhooks/", '{"name": "\\ud800", "url": "http://x.example/",'
                                  ' "event_types": ["case.created"]}', content_type="application/json"), 400, "invalid")
    # An unknown field whose name holds NUL is echoed (and kept for the Idempotency-Key replay) without it.
    response = crm_client.post(BULK, '[{"external_id": "ok", "a\\u0000b": 1}]', content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY="nul-key")
    assert response.status_code == 200 and list(response.json()["results"][0]["fields"]) == ["a\ufffdb"]
    _assert_error(crm_client.post(BULK, "external_id=a", content_type="application/x-www-form-urlencoded"), 415,
                  "unsupported_media_type")


def test_the_fast_list_rows_are_the_serializers(crm_client):
    from feedback.api.crm_serializers import CustomerSerializer, customer_rows

    CustomerFactory(email="a@example.com", value="12.5", region="Lisbon")
    CustomerFactory(value=0)
    customers = list(Customer.objects.order_by("pk"))
    assert customer_rows(customers) == [dict(row) for row in CustomerSerializer(customers, many=True).data]


def test_the_schema_states_scopes_and_limits(crm_client):
    schema = crm_client.get("/api/v1/schema/", {"format": "json"}).json()
    bulk = schema["paths"]["/api/v1/customers/bulk/"]["post"]
    body = bulk["requestBody"]["content"]["application/json"]["schema"]
    assert (body["minItems"], body["maxItems"]) == (1, 1000)
    assert "`customers:write`" in bulk["description"]
    assert set(bulk["responses"]) >= {"200", "400", "401", "403", "422", "429"}
    listing = schema["paths"]["/api/v1/customers/"]["get"]
    params = {param["name"]: param["schema"] for param in listing["parameters"]}
    assert params["page_size"]["maximum"] == 1000 and params["stage"]["enum"]
    assert params["updated_since"]["format"] == "date-time"
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[1]] if "$ref" in page else page
    assert set(page["required"]) == {"results", "next_cursor", "has_more"}


def test_webhook_subscriptions_through_the_api(crm_client):
    from customers.webhooks.models import WebhookDelivery, WebhookSubscription
    from customers.webhooks.services import emit_event, subscription_secret

    response = crm_client.post("/api/v1/webhooks/", {"name": "CRM", "url": "https://crm.example/hooks",
                                                     "event_types": ["case.created", "customer.updated"]},
                               format="json")
    assert response.status_code == 201
    created = response.json()
    subscription = WebhookSubscription.objects.get()
    assert created["secret"] == subscription_secret(subscription) and created["secret"] not in (
        subscription.secret_ciphertext)
    assert "secret" not in crm_client.get(f"/api/v1/webhooks/{subscription.pk}/").json()
    _assert_error(crm_client.post("/api/v1/webhooks/", {"name": "x", "url": "ftp://x", "event_types": ["nope"]},
                                  format="json"), 400, "invalid")
    patched = crm_client.patch(f"/api/v1/webhooks/{subscription.pk}/", {"event_types": ["case.resolved"]},
                               format="json").json()
    assert patched["event_types"] == ["case.resolved"]
    emit_event(event_type="case.resolved", payload={"id": 1})
    deliveries = crm_client.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/").json()
    assert [(row["event_type"], row["status"]) for row in deliveries] == [("case.resolved", "pending")]
    WebhookDelivery.objects.update(status="failed")
    redelivered = crm_client.post(f"/api/v1/webhooks/deliveries/{deliveries[0]['id']}/redeliver/")
    assert redelivered.status_code == 202 and redelivered.json()["status"] == "pending"
    assert crm_client.delete(f"/api/v1/webhooks/{subscription.pk}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_an_error_inside_a_list_is_named_by_its_path_and_fields_holds_only_lists_of_messages(crm_client):
    """The error shape's `fields` maps a name to a list of messages (as the schema says), also for an item of a
    list: `event_types.1`, not a nested object."""
    body = _assert_error(crm_client.post("/api/v1/webhooks/", {
        "name": "CRM", "url": "https://crm.example/hooks", "event_types": ["case.resolved", "nope", "also-nope"]},
        format="json"), 400, "invalid")
    assert set(body["fields"]) == {"event_types.1", "event_types.2"}
    assert all(isinstance(messages, list) and all(isinstance(m, str) for m in messages)
               for messages in body["fields"].values())
    assert "valid choice" in body["fields"]["event_types.1"][0]
