"""The CRM API's per-customer operations: merge, timeline, export and erasure (the portal's services, one each),
with their scopes, 404s, field messages and, for erasure, idempotency."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from customers.matching import refresh_keys
from customers.models import AuditEntry, Customer, Identity, MatchKey, TimelineEntry, TimelineKind
from customers.webhooks.models import WebhookPayload, WebhookSubscription
from feedback.cases.events import add, note
from feedback.cases.models import Case, CaseEvent, Handoff
from feedback.intake.models import Mention
from feedback.replies.models import OutboxMessage, Reply
from feedback.sla.models import Notification
from tests.factories import CaseFactory, CustomerFactory, IdentityFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body
    return body


@pytest.fixture
def person():
    """A person with every kind of personal data Baton holds: record, identity, keys, a post, a case with a note,
    a handoff, a reply (sent through the outbox), a notification quoting the case, and timeline lines."""
    customer = CustomerFactory(name="Dana Kowalski", email="dana@example.com", external_id="crm-dana")
    IdentityFactory(customer=customer, channel="x", handle="dana_k", display_name="Dana Kowalski")
    refresh_keys(customer_ids=[customer.pk])
    case = CaseFactory(customer=customer, subject="Dana's lost bag")
    mention = MentionFactory(customer=customer, case=case, author_handle="dana_k", author_name="Dana Kowalski",
                             text="I am Dana, call me on 0161 555 0100", raw={"author": {"location": "Leeds"}})
    add(note(case=case, text="Dana lives at 3 Elm Street", actor=None, now=AT))
    Handoff.objects.create(case=case, from_department=department("service"), to_department=department("sales"),
                           note="Dana wants a refund", created_at=AT)
    reply = Reply.objects.create(case=case, in_reply_to=mention, text="Hi Dana, we found your bag", status="sent")
    OutboxMessage.objects.create(reply=reply, case=case, channel="x", kind="public", to_handle="dana_k",
                                 text="Hi Dana, we found your bag")
    Notification.objects.create(user=UserFactory(), case=case, kind="handoff",
                                text=f"Case #{case.pk}: Dana wants a refund", created_at=AT)
    TimelineEntry.objects.create(customer=customer, at=AT, kind=TimelineKind.MENTION, summary="Posted on X as @dana_k",
                                 text=mention.text, case_id=case.pk, ref_type="mention", ref_id=mention.pk)
    return customer


# --- Merge -------------------------------------------------------------------------------------------------------

def test_merge_moves_everything_and_tells_the_crm(crm_client, person):
    from customers.webhooks.services import create_subscription

    create_subscription(name="CRM", url="https://crm.example/hooks", event_types=["customer.merged"])
    duplicate = CustomerFactory(name="", email="", external_id="crm-dana-2", phone="+441615550100")
    IdentityFactory(customer=duplicate, channel="instagram", handle="dana.k")
    other_case = CaseFactory(customer=duplicate)
    other_post = MentionFactory(customer=duplicate, case=other_case)

    response = crm_client.post(f"{CUSTOMERS}{person.pk}/merge/", {"merged": duplicate.pk}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == person.pk and body["phone"] == "+441615550100"  # the survivor's blank filled
    assert {identity["handle"] for identity in body["identities"]} == {"dana_k", "dana.k"}
    assert response["ETag"] == crm_client.get(f"{CUSTOMERS}{person.pk}/")["ETag"]
    assert Case.objects.get(pk=other_case.pk).customer_id == person.pk
    assert Mention.objects.get(pk=other_post.pk).customer_id == person.pk
    assert Customer.objects.get(pk=duplicate.pk).merged_into_id == person.pk
    [payload] = WebhookPayload.objects.filter(event_type="customer.merged")
    data = json.loads(payload.body)["data"]
    assert data["survivor"]["id"] == person.pk and data["merged"] == {"id": duplicate.pk, "external_id": "crm-dana-2"}
    audit = AuditEntry.objects.get(action="merge")
    assert audit.details["via"] == "integration:CRM" and audit.actor is None
    assert TimelineEntry.objects.get(customer=person, kind=TimelineKind.MERGE).actor == "integration:CRM"


def test_merge_refusals(crm_client, integration_key, person):
    other = CustomerFactory()
    url = f"{CUSTOMERS}{person.pk}/merge/"
    reader = _client(integration_key(["customers:read"], name="reader"))
    body = _assert_error(reader.post(url, {"merged": other.pk}, format="json"), 403, "permission_denied")
    assert "customers:write" in body["message"]
    _assert_error(crm_client.post(f"{CUSTOMERS}{other.pk + 1000}/merge/", {"merged": other.pk}, format="json"), 404,
                  "not_found")
    for bad, message in (({}, "required"), ({"merged": "x"}, "valid integer"), ({"merged": 0}, "greater than")):
        body = _assert_error(crm_client.post(url, bad, format="json"), 400, "invalid")
        assert message in body["fields"]["merged"][0].lower() or message in body["fields"]["merged"][0], body
    body = _assert_error(crm_client.post(url, {"merged": 1, "into": 2}, format="json"), 400, "invalid")
    assert body["fields"] == {"into": ["Unknown field."]}
    # Well formed, but the record it names is missing (404) or is this one (409), said on the field.
    body = _assert_error(crm_client.post(url, {"merged": other.pk + 1000}, format="json"), 404, "not_found")
    assert "no customer" in body["fields"]["merged"][0]
    body = _assert_error(crm_client.post(url, {"merged": person.pk}, format="json"), 409, "illegal_transition")
    assert "itself" in body["fields"]["merged"][0]
    _assert_error(crm_client.post(url, [1], format="json"), 400, "invalid")
    assert not Customer.objects.filter(merged_into__isnull=False).exists()
    # Already merged: a conflict with the records' state, said with a field message.
    assert crm_client.post(url, {"merged": other.pk}, format="json").status_code == 200
    body = _assert_error(crm_client.post(url, {"merged": other.pk}, format="json"), 409, "illegal_transition")
    assert body["fields"]["merged"]


# --- Timeline ----------------------------------------------------------------------------------------------------

def _entries(customer, specs):
    return [TimelineEntry.objects.create(customer=customer, at=AT + timedelta(minutes=minute), kind=kind,
                                         summary=f"entry {minute}", department=department(slug) if slug else None)
            for minute, kind, slug in specs]


def test_the_timeline_newest_first_in_pages_with_filters(crm_client, django_assert_max_num_queries):
    customer = CustomerFactory()
    _entries(customer, [(0, "mention", "service"), (1, "note", "sales"), (2, "case", "service"),
                        (2, "status", None), (3, "note", "service")])
    _entries(CustomerFactory(), [(5, "note", "service")])  # someone else's
    url = f"{CUSTOMERS}{customer.pk}/timeline/"
    seen, cursor = [], None
    while True:
        body = crm_client.get(url, {"page_size": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += body["results"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    assert [row["summary"] for row in seen] == ["entry 3", "entry 2", "entry 2", "entry 1", "entry 0"]
    assert [(row["at"], row["id"]) for row in seen] == sorted(((row["at"], row["id"]) for row in seen), reverse=True)
    first = seen[0]
    assert set(first) == {"id", "at", "kind", "summary", "text", "department", "case", "ref_type", "ref_id", "actor"}
    assert (first["kind"], first["department"], first["case"]) == ("note", "service", None)
    notes = crm_client.get(url, {"kind": "note"}).json()["results"]
    assert [row["summary"] for row in notes] == ["entry 3", "entry 1"]
    sales = crm_client.get(url, {"department": "sales"}).json()["results"]
    assert [row["summary"] for row in sales] == ["entry 1"]
    assert crm_client.get(url, {"kind": "note", "department": "service"}).json()["results"][0]["summary"] == "entry 3"
    with django_assert_max_num_queries(4):  # token, customer, page (+ the token's last use)
        crm_client.get(url, {"page_size": 100})


def test_timeline_refusals(crm_client, integration_key):
    customer = CustomerFactory()
    url = f"{CUSTOMERS}{customer.pk}/timeline/"
    cases_only = _client(integration_key(["cases:read"], name="cases"))
    _assert_error(cases_only.get(url), 403, "permission_denied")
    _assert_error(crm_client.get(f"{CUSTOMERS}{customer.pk + 1000}/timeline/"), 404, "not_found")
    body = _assert_error(crm_client.get(url, {"kind": "gossip"}), 400, "invalid")
    assert list(body["fields"]) == ["kind"]
    body = _assert_error(crm_client.get(url, {"department": "x" * 51}), 400, "invalid")
    assert list(body["fields"]) == ["department"]
    _assert_error(crm_client.get(url, {"cursor": "not-ours"}), 400, "invalid_cursor")
    _assert_error(crm_client.get(url, {"page_size": "0"}), 400, "invalid_page_size")


# --- Export ------------------------------------------------------------------------------------------------------

EXPORT_SCOPES = ["customers:read", "cases:read", "mentions:read"]


def test_export_is_the_portals_and_is_audited(integration_key, person, client):
    exporter = _client(integration_key(EXPORT_SCOPES, name="DPO"))
    response = exporter.get(f"{CUSTOMERS}{person.pk}/export/")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["customer"]["email"] == "dana@example.com" and data["customer"]["value"] == "0.00"
    assert data["identities"][0]["handle"] == "dana_k"
    assert data["mentions"][0]["text"].startswith("I am Dana") and data["mentions"][0]["raw"]["author"]
    assert data["cases"][0]["subject"] == "Dana's lost bag"
    audit = AuditEntry.objects.get(action="export")
    assert audit.customer_id_ref == person.pk and audit.details["via"] == "integration:DPO"
    assert "Dana" not in json.dumps(audit.details)
    # The same content as the portal's export, whose audit list also holds the API's export since.
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    portal = json.loads(client.post(reverse("customer-export", args=[person.pk])).content)
    assert {key: value for key, value in portal.items() if key != "audit"} == {
        key: value for key, value in data.items() if key != "audit"}
    assert [(line["action"], line["details"].get("via")) for line in portal["audit"]] == [
        *((line["action"], line["details"].get("via")) for line in data["audit"]), ("export", "integration:DPO")]


def test_export_needs_every_read_scope_and_a_known_id(integration_key, person):
    for scopes in (["customers:read"], ["customers:read", "cases:read"], ["mentions:read", "cases:read"]):
        body = _assert_error(_client(integration_key(scopes, name="+".join(scopes))).get(
            f"{CUSTOMERS}{person.pk}/export/"), 403, "permission_denied")
        assert all(f"`{scope}`" in body["message"] for scope in EXPORT_SCOPES if scope not in scopes), body
    assert not AuditEntry.objects.filter(action="export").exists()
    _assert_error(_client(integration_key(EXPORT_SCOPES, name="all")).get(f"{CUSTOMERS}{person.pk + 1000}/export/"),
                  404, "not_found")


# --- Erasure -----------------------------------------------------------------------------------------------------

def _no_trace_of(customer) -> None:
    customer.refresh_from_db()
    assert customer.name == "Erased person" and customer.email == "" and customer.erased_at is not None
    assert customer.external_id == "crm-dana"  # the CRM's id stays
    assert not Identity.objects.filter(customer=customer).exists()
    assert not MatchKey.objects.filter(customer=customer).exists()
    mention = Mention.objects.get(customer=customer)
    assert (mention.text, mention.author_handle, mention.author_name, mention.raw) == ("[erased]", "", "", {})
    case = Case.objects.get(customer=customer)
    assert case.subject == "[erased]"
    assert not CaseEvent.objects.filter(case=case, data__text__icontains="dana").exists()
    assert Handoff.objects.get(case=case).note == "[erased]"
    reply = Reply.objects.get(case=case)
    assert (reply.text, reply.original_text) == ("[erased]", "")
    outbox = OutboxMessage.objects.get(case=case)
    assert (outbox.text, outbox.to_handle) == ("[erased]", "")
    assert Notification.objects.get(case=case).text == f"Case #{case.pk}: [erased]"
    assert not TimelineEntry.objects.filter(customer=customer, text__icontains="dana").exists()
    assert not TimelineEntry.objects.filter(customer=customer, summary__icontains="dana").exists()


def test_erasure_removes_the_person_everywhere_and_is_idempotent(crm_client, person):
    url = f"{CUSTOMERS}{person.pk}/erase/"
    first = crm_client.post(url)
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["customer"] == person.pk and body["erased_at"]
    assert {key: body["counts"][key] for key in ("mentions", "cases", "replies", "outbox_messages", "notifications",
                                                 "identities")} == {
        "mentions": 1, "cases": 1, "replies": 1, "outbox_messages": 1, "notifications": 1, "identities": 1}
    _no_trace_of(person)
    audit = AuditEntry.objects.get(action="erase")
    assert audit.details["via"] == "integration:CRM" and "Dana" not in json.dumps(audit.details)

    # Again: 200, the same end state, the first erasure's time; the request is audited too.
    second = crm_client.post(url)
    assert second.status_code == 200 and second.json()["erased_at"] == body["erased_at"]
    assert second.json()["counts"]["identities"] == 0
    _no_trace_of(person)
    assert AuditEntry.objects.filter(action="erase", customer_id_ref=person.pk).count() == 2
    # The CRM sees the erased record (and its cases, changed) on its next sync.
    assert crm_client.get(f"{CUSTOMERS}{person.pk}/").json()["name"] == "Erased person"


def test_erasure_refusals(crm_client, integration_key, person):
    url = f"{CUSTOMERS}{person.pk}/erase/"
    reader = _client(integration_key(["customers:read", "cases:read", "mentions:read"], name="reader"))
    body = _assert_error(reader.post(url), 403, "permission_denied")
    assert "customers:write" in body["message"]
    assert Customer.objects.get(pk=person.pk).erased_at is None
    _assert_error(crm_client.post(f"{CUSTOMERS}{person.pk + 1000}/erase/"), 404, "not_found")
    # A record merged into another holds nothing: the answer names the record that does.
    pointer = CustomerFactory()
    crm_client.post(f"{CUSTOMERS}{person.pk}/merge/", {"merged": pointer.pk}, format="json")
    body = _assert_error(crm_client.post(f"{CUSTOMERS}{pointer.pk}/erase/"), 409, "illegal_transition")
    assert f"#{person.pk}" in body["message"] and body["fields"]["id"]
    assert Customer.objects.get(pk=person.pk).erased_at is None


def test_the_schema_documents_the_new_operations_and_their_scopes(crm_client):
    schema = crm_client.get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    merge = paths["/api/v1/customers/{id}/merge/"]["post"]
    assert "`customers:write`" in merge["description"] and {"400", "404", "409"} <= set(merge["responses"])
    timeline = paths["/api/v1/customers/{id}/timeline/"]["get"]
    assert "`customers:read`" in timeline["description"]
    assert {param["name"] for param in timeline["parameters"]} >= {"kind", "department", "cursor", "page_size"}
    export = paths["/api/v1/customers/{id}/export/"]["get"]
    assert all(f"`{scope}`" in export["description"] for scope in EXPORT_SCOPES)
    erase = paths["/api/v1/customers/{id}/erase/"]["post"]
    assert "`customers:write`" in erase["description"] and "Idempotent" in erase["description"]
    assert not WebhookSubscription.objects.exists()
