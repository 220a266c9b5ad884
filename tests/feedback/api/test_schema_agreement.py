"""What the schemathesis run (test_schemathesis.py) made the server and the schema agree on, one rule at a time: each
refusal is a 400 in the one error shape with a message for the field, each acceptance is what the schema promises,
and the schema hooks describe any operation, a new one too."""

import re
from decimal import Decimal

import pytest

from customers.models import Customer
from feedback.api.filtering import BLANK_MESSAGE
from feedback.api.schema import NO_NUL, NOT_BLANK, add_links, describe_inputs, document_errors
from feedback.intake.models import Mention
from tests.factories import CaseFactory, CustomerFactory, MentionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_without_settling")]

CUSTOMERS = "/api/v1/customers/"
BULK = "/api/v1/customers/bulk/"
WEBHOOKS = "/api/v1/webhooks/"



@pytest.fixture
def schema(crm_client):
    return crm_client.get("/api/v1/schema/", {"format": "json"}).json()


def _refused(response, **fields) -> dict:
    """A 400 in the one error shape whose field messages are `fields` (name -> a message, or a part of it)."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == "invalid" and body["message"]
    assert set(body["fields"]) == set(fields), body
    for name, message in fields.items():
        assert any(message in text for text in body["fields"][name]), body
    return body


def _param(schema, path: str, name: str) -> dict:
    parameters = schema["paths"][path]["get"]["parameters"]
    return next(parameter["schema"] for parameter in parameters if parameter["name"] == name)


# --- Filters: blank, NUL, ids ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "name"), [
    ("/api/v1/cases/", "priority"), ("/api/v1/cases/", "status"), ("/api/v1/cases/", "department"),
    ("/api/v1/cases/", "customer"), ("/api/v1/cases/", "updated_since"), (CUSTOMERS, "stage"),
    (CUSTOMERS, "external_id"), ("/api/v1/mentions/", "intent"), ("/api/v1/mentions/", "received_since"),
])
@pytest.mark.parametrize("blank", ["", " ", "\t\u3000"])
def test_a_blank_filter_is_refused_not_ignored(crm_client, schema, path, name, blank):
    """`?priority=` used to list every case (django-filter ignores a blank value): a client that sent an unset
    variable would sync everything. The schema says so: an enum, a date-time or a pattern no blank value matches."""
    CaseFactory()
    _refused(crm_client.get(path, {name: blank}), **{name: BLANK_MESSAGE})
    parameter = _param(schema, path, name)
    assert parameter.get("minLength", 1) >= 1 if parameter["type"] == "string" else parameter["type"] == "integer"
    if parameter["type"] == "string" and "enum" not in parameter and "format" not in parameter:
        assert parameter["pattern"] == NOT_BLANK and not re.search(NOT_BLANK, blank)


def test_filters_still_filter_and_the_cursor_may_be_blank(crm_client):
    customer = CustomerFactory(external_id="crm-7", stage="lead")
    CustomerFactory(stage="customer")
    rows = crm_client.get(CUSTOMERS, {"external_id": "crm-7", "stage": "lead", "cursor": ""}).json()["results"]
    assert [row["id"] for row in rows] == [customer.pk]


def test_a_nul_in_a_filter_is_refused_and_the_schema_says_so(crm_client, schema):
    _refused(crm_client.get(CUSTOMERS, {"external_id": "crm\x00-1"}), external_id="Null characters are not allowed.")
    _refused(crm_client.get("/api/v1/cases/", {"department": "\x00"}), department="Null characters")
    assert not re.search(_param(schema, CUSTOMERS, "external_id")["pattern"], "crm\x00-1")


@pytest.mark.parametrize("value", ["5.0", " 5", "+5", "٥", "0", "9" * 200])
def test_an_id_filter_takes_ascii_digits_only(crm_client, value):
    """forms.IntegerField takes " 5", "5.0" and other scripts' digits; the schema says integer, from 1."""
    case = CaseFactory()
    MentionFactory(customer=case.customer, case=case)
    response = crm_client.get("/api/v1/mentions/", {"customer": value})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["customer"], response.content
    rows = crm_client.get("/api/v1/mentions/", {"customer": str(case.customer_id)}).json()["results"]
    assert len(rows) == 1


# --- Customers: the lifetime value, lengths as sent, If-Match ------------------------------------------------------

@pytest.mark.parametrize(("sent", "stored"), [
    (12.345, "12.35"), (0.125, "0.13"), (0.124, "0.12"), (0.1 + 0.2, "0.30"), (-0.0, "0.00"), (7, "7.00"),
    ("120.5", "120.50"), ("9999999999.99", "9999999999.99"), (9999999999.99, "9999999999.99"),
])
def test_a_lifetime_value_is_rounded_to_the_cent(crm_client, sent, stored):
    """A CRM holding money as a float sends 0.1 + 0.2 as 0.30000000000000004: a number is rounded to the cent, half
    up (the schema says so); a text is taken only as the API writes it, at most 2 decimals."""
    body = crm_client.post(BULK, [{"external_id": "v", "value": sent}], format="json").json()
    assert body["created"] == 1, body
    assert Customer.objects.get(external_id="v").value == Decimal(stored)
    assert crm_client.get(f"{CUSTOMERS}{body['results'][0]['id']}/").json()["value"] == stored


@pytest.mark.parametrize("sent", [
    "12.345", "1e3", " 12", "-1", 9999999999.995, 10_000_000_000, -0.01, "Infinity", True, [1],
])
def test_a_lifetime_value_out_of_its_rules_is_a_field_error(crm_client, sent):
    body = crm_client.post(BULK, [{"external_id": "v", "value": sent}], format="json").json()
    assert body["errors"] == 1 and list(body["results"][0]["fields"]) == ["value"], body
    customer = CustomerFactory()
    etag = crm_client.get(f"{CUSTOMERS}{customer.pk}/")["ETag"]
    _refused(crm_client.patch(f"{CUSTOMERS}{customer.pk}/", {"value": sent}, format="json", HTTP_IF_MATCH=etag),
             value="")


def test_the_schema_describes_the_lifetime_value(schema):
    value = schema["components"]["schemas"]["CustomerUpsertIn"]["properties"]["value"]
    number, text = value["anyOf"]
    assert (number["type"], number["minimum"], number["maximum"]) == ("number", 0, 9999999999.99)
    assert re.fullmatch(text["pattern"], "120.50") and not re.fullmatch(text["pattern"], "12.345")
    assert "rounded to the cent (half up" in value["description"]


def test_a_text_field_is_as_long_as_it_was_sent(crm_client):
    """The schema's maxLength counts what is sent: 200 characters and a space are 201, refused (they used to be
    stripped first, then counted)."""
    body = crm_client.post(BULK, [{"external_id": "long", "name": "x" * 200 + " "},
                                  {"external_id": "fits", "name": " " + "x" * 199}], format="json").json()
    assert [row["outcome"] for row in body["results"]] == ["error", "created"], body
    assert body["results"][0]["fields"] == {"name": ["Ensure this field has no more than 200 characters."]}
    assert Customer.objects.get(external_id="fits").name == "x" * 199


def test_a_change_needs_the_current_etag_and_answers_the_next(crm_client, schema):
    customer = CustomerFactory(name="Ann")
    url = f"{CUSTOMERS}{customer.pk}/"
    read = crm_client.get(url)["ETag"]
    body = crm_client.patch(url, {"name": "Anne"}, format="json", HTTP_IF_MATCH="").json()
    assert body["code"] == "precondition_required"  # a blank If-Match is none: 428
    changed = crm_client.patch(url, {"name": "Anne"}, format="json", HTTP_IF_MATCH=read)
    assert changed.status_code == 200 and changed["ETag"] != read
    stale = crm_client.patch(url, {"name": "Annie"}, format="json", HTTP_IF_MATCH=read)
    assert stale.status_code == 412 and stale.json()["fields"] == {"If-Match": [f"The current ETag is {changed['ETag']}."]}
    again = crm_client.patch(url, {"name": "Annie"}, format="json", HTTP_IF_MATCH=changed["ETag"])
    assert again.status_code == 200 and again.json()["name"] == "Annie"
    assert crm_client.patch(url, {"region": "Porto"}, format="json", HTTP_IF_MATCH="*").status_code == 200
    # No body changes nothing: 200 with the customer (the schema does not require a PATCH body).
    unchanged = crm_client.patch(url, HTTP_IF_MATCH=crm_client.get(url)["ETag"])
    assert unchanged.status_code == 200 and unchanged.json()["region"] == "Porto"
    operation = schema["paths"]["/api/v1/customers/{id}/"]["patch"]
    assert {"400", "404", "412", "428"} <= set(operation["responses"]) and not operation["requestBody"].get("required")
    if_match = next(parameter for parameter in operation["parameters"] if parameter["name"] == "If-Match")
    assert if_match["required"] and if_match["schema"]["minLength"] == 1
    read_link = schema["paths"]["/api/v1/customers/{id}/"]["get"]["responses"]["200"]["links"]
    assert read_link["customers_partial_update_with_etag"]["parameters"] == {
        "path.id": "$request.path.id", "header.If-Match": "$response.header.ETag"}


def test_an_unknown_field_is_refused_and_the_schema_says_so(crm_client, schema):
    customer = CustomerFactory()
    etag = crm_client.get(f"{CUSTOMERS}{customer.pk}/")["ETag"]
    _refused(crm_client.patch(f"{CUSTOMERS}{customer.pk}/", {"colour": "red"}, format="json", HTTP_IF_MATCH=etag),
             colour="Unknown field.")
    _refused(crm_client.post(WEBHOOKS, {"name": "CRM", "url": "https://crm.example/", "event_types": ["case.created"],
                                        "event_type": "typo"}, format="json"), event_type="Unknown field.")
    components = schema["components"]["schemas"]
    for name in ("CustomerUpsertIn", "PatchedCustomerFieldsIn", "WebhookSubscriptionIn",
                 "PatchedWebhookSubscriptionPatch"):
        assert components[name]["additionalProperties"] is False, name


# --- Webhook subscriptions: JSON's own types, one URL rule ----------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "message"), [
    ("is_active", 0, "Must be a valid boolean."), ("is_active", "true", "Must be a valid boolean."),
    ("name", 5, "Not a valid string."), ("name", "x" * 100 + " ", "no more than 100 characters"),
    ("name", "\u2003", "may not be blank"), ("url", "ftp://crm.example/", "Enter an http or https URL."),
    ("url", "https://user:secret@crm.example/", "Leave the user name and password out of the URL"),
    ("url", " https://crm.example/", "Enter an http or https URL."), ("url", "https://[1::2::3]/", "Enter an http"),
    ("url", "https://crm.example:65536/", "Enter an http or https URL."),
])
def test_a_subscription_takes_exactly_what_the_schema_says(crm_client, schema, field, value, message):
    body = {"name": "CRM", "url": "https://crm.example/hooks", "event_types": ["case.created"], field: value}
    _refused(crm_client.post(WEBHOOKS, body, format="json"), **{field: message})
    if field == "url":
        pattern = schema["components"]["schemas"]["WebhookSubscriptionIn"]["properties"][field]["pattern"]
        assert not re.search(pattern, value)


@pytest.mark.parametrize("url", ["http://crm-gateway:8080/hooks", "HTTPS://CRM.example/h?x=[1]", "https://10.0.0.7/",
                                 "http://[fd00::7]:8080/hooks"])
def test_a_subscription_url_on_the_crm_network_is_taken(crm_client, schema, url, settings):
    """Where the operator allows receivers on the CRM's own network (BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS; refused by
    default, tests/customers/test_webhook_targets.py), a host name without a dot or a private address is fine; so are
    the characters RFC 3986 wants percent-encoded, which is why stored URLs are not described as `format: uri`."""
    settings.BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    created = crm_client.post(WEBHOOKS, {"name": "CRM", "url": url, "event_types": ["case.created"]}, format="json")
    assert created.status_code == 201 and created.json()["url"] == url
    pattern = schema["components"]["schemas"]["WebhookSubscriptionIn"]["properties"]["url"]["pattern"]
    assert re.search(pattern, url)
    assert "format" not in schema["components"]["schemas"]["WebhookSubscription"]["properties"]["url"]


# --- The mention intake: the coercions it documents ---------------------------------------------------------------

def _mention(**fields) -> dict:
    return {"source": "x", "external_id": "m-1", "text": "@SkyJet where is my bag?", "posted_at": "2026-11-20T09:00:00Z",
            "author_handle": "dana", **fields}


@pytest.mark.parametrize(("fields", "error"), [
    ({"external_id": 10**15 + 1}, "external_id"), ({"author_name": -1e300}, "author_name"),
    ({"author_followers": "+5"}, "author_followers"), ({"author_followers": "2147483648"}, "author_followers"),
    ({"url": "ftp://x.com/1"}, "url"), ({"url": "f:"}, "url"), ({"raw": None}, "raw"), ({"raw": {"a": "\x00"}}, "raw"),
])
def test_what_the_intake_refuses(api_client, fields, error):
    _refused(api_client.post("/api/v1/mentions/", _mention(**fields), format="json"), **{error: ""})


@pytest.mark.parametrize(("fields", "stored"), [
    ({"external_id": 12345}, {"external_id": "12345"}), ({"author_followers": " 12.0 "}, {"author_followers": 12}),
    ({"author_followers": -0.0}, {"author_followers": 0}), ({"url": " https://x.com/dana/status/1 "},
                                                             {"url": "https://x.com/dana/status/1"}),
    ({"url": "\u2001\u1680"}, {"url": ""}),
])
def test_what_the_intake_takes_as_the_schema_says(api_client, fields, stored):
    response = api_client.post("/api/v1/mentions/", _mention(**fields), format="json")
    assert response.status_code == 201, response.content
    mention = Mention.objects.get()
    assert {name: getattr(mention, name) for name in stored} == stored


# --- The hooks describe any operation ------------------------------------------------------------------------------

def test_the_hooks_describe_an_operation_nobody_wrote_them_for():
    """A new endpoint (a merge, say) gets the same description without a line in feedback/api/schema.py."""
    result = {"components": {"schemas": {"MergeIn": {"type": "object", "properties": {
        "into": {"type": "string", "minLength": 1}, "note": {"type": "string"}, "ids": {"type": "array", "items": {
            "type": "string"}}, "kind": {"type": "string", "enum": ["a", "b"]}}}}},
        "paths": {"/api/v1/customers/{id}/merge/": {"post": {
            "operationId": "customers_merge", "security": [{"integrationToken": []}],
            "parameters": [{"in": "path", "name": "id", "schema": {"type": "integer"}},
                           {"in": "query", "name": "reason", "schema": {"type": "string"}}],
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/MergeIn"}}}},
            "responses": {"200": {"description": "", "headers": {"ETag": {"schema": {"type": "string"}}}}}},
            "patch": {"operationId": "merge_patch", "responses": {}, "parameters": [
                {"in": "path", "name": "id", "schema": {"type": "integer"}},
                {"in": "header", "name": "If-Match", "schema": {"type": "string"}}]}}}}
    for hook in (describe_inputs, document_errors, add_links):
        result = hook(result, None, None, True)
    merge = result["components"]["schemas"]["MergeIn"]["properties"]
    assert merge["into"]["pattern"] == NOT_BLANK and merge["note"]["pattern"] == NO_NUL
    assert merge["ids"]["items"]["pattern"] == NO_NUL and "pattern" not in merge["kind"]
    operation = result["paths"]["/api/v1/customers/{id}/merge/"]["post"]
    reason = operation["parameters"][1]["schema"]
    assert reason["minLength"] == 1 and reason["pattern"] == NOT_BLANK
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "411", "413", "415", "429"}
    assert operation["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiError"}
    assert operation["responses"]["200"]["links"]["merge_patch_with_etag"] == {
        "operationId": "merge_patch", "parameters": {"path.id": "$request.path.id", "header.If-Match":
                                                     "$response.header.ETag"},
        "description": "The object as read, changed only if nobody changed it since (If-Match)."}
