"""schemathesis against the live schema with every check it has (`st run --checks all`, in process): every
operation, in both modes (data the schema allows must be taken, data that breaks it refused), through its examples,
coverage (boundary values, missing and unexpected parameters, undeclared methods and content types) and a bounded
number of generated requests; then the operations chained along their links (create, read, change, delete), where
the stateful checks apply. No 500s, and no answer the schema does not describe.

Deterministic, alone or in the whole suite: schemathesis' deterministic generation (no seed, no example database),
the same rows with the same ids before each run (reset sequences, nothing made by a factory's counter or Faker), the
rate limits and cache emptied, and generation from the schema only: neither schemathesis nor Hypothesis draws values
from the constants of the Python modules loaded (which ones depends on the tests that ran before).

What the schema cannot say is supplied the way a client would, not by weakening a check:
- a cursor is an opaque token Baton hands out (format `baton-cursor`): cursors are made the way the server makes
  them;
- an Idempotency-Key is unique per request (a reused key with another body is 422 by the IETF draft): each request
  schemathesis generates as valid gets a fresh one, as the schema's description asks of a client;
- an If-Match names the object's current version, which a generated ETag is not: the operations that take If-Match
  may answer a valid request 412 (the object is not in the state the request assumed, as 409 is, which schemathesis
  already counts as an acceptance), and answer a request without it 428 (RFC 6585), not 400.
"""

import itertools
import json
from collections import Counter
from datetime import UTC, datetime

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.core.cache import cache
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers
from hypothesis.internal.floats import float_to_int
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from sortedcontainers import SortedSet

from config.query import MAX_ID
from customers.webhooks.services import create_subscription, emit_event
from feedback.api.pagination import encode_cursor
from feedback.integrations.scopes import Scope
from tests.factories import (
    CaseFactory,
    CustomerFactory,
    IdentityFactory,
    MembershipFactory,
    MentionFactory,
    UserFactory,
)
from tests.factories import department as department_named
from tests.servers import web_process

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, reset_sequences=True)]

# Bounds, so that this module takes about 2 minutes on a loaded machine: generated requests per operation and mode in
# the fuzzing phase (the examples and coverage phases add their own, a fixed set), the mention intake's (one mention
# or a list of any items: a harder look), and the stateful runs' scenarios and steps.
MAX_EXAMPLES = 6
INTAKE_EXAMPLES = 20
STATEFUL_SCENARIOS, STATEFUL_STEPS = 16, 6
EXPECTED_OPERATIONS = {
    "GET /api/v1/customers/", "POST /api/v1/customers/bulk/", "GET /api/v1/customers/{id}/",
    "PATCH /api/v1/customers/{id}/", "POST /api/v1/customers/{id}/merge/", "GET /api/v1/customers/{id}/timeline/",
    "GET /api/v1/customers/{id}/export/", "POST /api/v1/customers/{id}/erase/", "GET /api/v1/cases/", "GET /api/v1/cases/{id}/", "GET /api/v1/mentions/",
    "POST /api/v1/mentions/", "GET /api/v1/mentions/{id}/", "GET /api/v1/webhooks/", "POST /api/v1/webhooks/",
    "GET /api/v1/webhooks/{id}/", "PATCH /api/v1/webhooks/{id}/", "DELETE /api/v1/webhooks/{id}/",
    "GET /api/v1/webhooks/{id}/deliveries/", "POST /api/v1/webhooks/deliveries/{id}/redeliver/",
}
load_all_checks()
EVERY_CHECK = set(REGISTRY.get_all_names())
schemathesis.openapi.format("baton-cursor", st.builds(
    encode_cursor, st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=0, max_value=MAX_ID)))


@pytest.fixture
def generation_from_the_schema_only(monkeypatch):
    """Hypothesis also draws strings and numbers from the constants of every local module in sys.modules: which ones
    depends on the tests that ran before (a run alone and one in the whole suite generated different requests). Off
    for these runs: what is generated depends on the schema and the derandomized seed only."""
    empty = providers.Constants(integers=SortedSet(), floats=SortedSet(key=float_to_int), bytes=SortedSet(),
                                strings=SortedSet())
    monkeypatch.setattr(providers, "_get_local_constants", lambda: empty)
    providers.CONSTANTS_CACHE.cache.clear()  # the allowed constants per kind, computed with the local ones
    yield
    providers.CONSTANTS_CACHE.cache.clear()


@pytest.fixture
def fresh_idempotency_keys():
    """Every request schemathesis generates as valid carries a key of its own (a counter: the same keys each run)."""
    counter = itertools.count()

    def fresh_idempotency_key(context, case, kwargs):
        if "Idempotency-Key" in (case.headers or {}) and (case.meta is None or case.meta.generation.mode.is_positive):
            case.headers = {**case.headers, "Idempotency-Key": f"schemathesis-{next(counter)}"}

    schemathesis.hook("before_call")(fresh_idempotency_key)
    yield
    schemathesis.hooks.unregister(fresh_idempotency_key)


@pytest.fixture(scope="module")
def web(django_db_setup, tmp_path_factory):
    """gunicorn on the test database, for the module: a process of its own, so that the server and schemathesis do
    not take turns on one interpreter lock (live_server's thread would)."""
    log = tmp_path_factory.mktemp("schemathesis") / "gunicorn.log"
    with web_process(django_settings, log, django_settings.CELERY_BROKER_URL,
                     # generated hosts such as "0" or "10.0.0.1" fit the URL rule the schema publishes; whether a name
                     # resolves to a public address is not a schema matter (tests/customers/test_webhook_targets.py
                     # tests that refusal), so the operator's switch for a CRM on a private network is on here
                     env={"BATON_API_SYNC_SETTLE_SECONDS": "0", "BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}) as base:
        yield base


@pytest.fixture
def api(web, integration_key, tmp_path, fresh_idempotency_keys, generation_from_the_schema_only):
    """The same rows before every run, and the identities schemathesis sends requests as (a WFC auth file): `crm`, a
    token with every scope, sends them all; `intake`, a token that may only add mentions, and `agent`, a person's
    API token, are its peers, which object_level_authorization asks for what `crm` read (they must be refused)."""
    cache.clear()  # the token rate limits and every cached answer
    for n in range(3):
        customer = CustomerFactory(external_id=f"crm-{n}", name=f"Customer {n}")
        IdentityFactory(customer=customer, handle=f"handle{n}")
        case = CaseFactory(customer=customer)
        MentionFactory(customer=customer, case=case, external_id=f"tweet-{n}", author_handle=f"author{n}")
    create_subscription(name="CRM", url="https://crm.example/hooks", event_types=["case.created"])
    emit_event(event_type="case.created", payload={"id": 1})  # a delivery to list and to redeliver
    agent = MembershipFactory(user=UserFactory(username="schema-agent"), department=department_named("service")).user
    agent.user_permissions.add(Permission.objects.get(codename="add_mention", content_type__app_label="feedback"))
    identities = {
        "crm": f"Bearer {integration_key(rate_per_minute=1_000_000)}",
        "intake": f"Bearer {integration_key([Scope.MENTIONS_WRITE], name='Intake', rate_per_minute=1_000_000)}",
        "agent": f"Token {Token.objects.create(user=agent).key}",
    }
    auth_file = tmp_path / "wfc-auth.json"
    auth_file.write_text(json.dumps({"auth": [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": value}]}
        for name, value in identities.items()]}))
    return web, identities["crm"], str(auth_file)


def _operation_settings(raw: dict) -> list[dict]:
    """Per operation: those that take If-Match (found in the schema, so new ones are covered) may refuse a valid
    request 412, and one without If-Match with 428; the mention intake gets more examples."""
    conditional = [operation["operationId"] for item in raw["paths"].values() for operation in item.values()
                   if isinstance(operation, dict) and any(
                       parameter.get("in") == "header" and parameter.get("name") == "If-Match"
                       for parameter in operation.get("parameters", []))]
    intake = {"include-path": "/api/v1/mentions/", "include-method": "POST",
              "generation": {"max-examples": INTAKE_EXAMPLES}}
    return [intake] + ([{"include-operation-id": conditional, "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 412, 429, "5xx"]},
        "missing_required_header": {"expected-statuses": [428]},
    }}] if conditional else [])


def _run(api, *, mode: str, phases: set[str], paths: str | None = None) -> dict:
    """One schemathesis run with every check (on the operations whose path matches the regex `paths`, or all); its
    failures, errors and what it sent. A stateful run over a few operations has fewer scenarios."""
    base_url, crm, auth_file = api
    raw = schemathesis.openapi.from_url(f"{base_url}/api/v1/schema/?format=json", headers={"Authorization": crm}).raw_schema
    config = SchemathesisConfig.from_dict({
        "base-url": base_url,
        "workers": 1,
        "auth": {"wfc": {"path": auth_file, "user": "crm", "peers": ["crm", "intake", "agent"]}},
        "checks": {name: {"enabled": True} for name in EVERY_CHECK},
        "generation": {"mode": mode, "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "analysis": {"constants": {"enabled": False}},
        "phases": {
            **{name: {"enabled": name in phases} for name in ("examples", "coverage", "fuzzing")},
            "stateful": {"enabled": "stateful" in phases, "max-steps": STATEFUL_STEPS,
                         "generation": {"max-examples": STATEFUL_SCENARIOS // 2 if paths else STATEFUL_SCENARIOS}},
        },
        "operations": _operation_settings(raw) + ([{"exclude-path-regex": paths, "enabled": False}] if paths else []),
    })
    schema = schemathesis.openapi.from_dict(raw, config=config)
    schema.hook("map_case")(_raw_as_the_schema_says)
    run = {"operations": {operation.ok().label for operation in schema.get_all_operations()}, "failures": [],
           "calls": Counter(), "statuses": Counter(), "links": Counter(), "answers": Counter(), "identities": Counter(),
           "checks": set(), "raw": raw}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _record(run, event.recorder)
        elif isinstance(event, events.NonFatalError):
            run["failures"].append(f"error on {event.label}: {event.info.title}\n{event.info}")
        elif isinstance(event, events.FatalError):
            run["failures"].append(f"schemathesis stopped: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            run["failures"] += [f"after the run: {failure.title}: {failure.message}" for failure in event.failures]
    return run


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _raw_as_the_schema_says(context, case):
    """A mention's `raw` is any JSON whose strings hold no U+0000 at any depth (the schema's recursive JsonValue):
    schemathesis follows a recursive reference a few levels only, then draws any JSON, NUL included. A valid case
    gets what the schema says; an invalid one keeps what makes it invalid."""
    if case.operation.path == "/api/v1/mentions/" and case.meta is not None and case.meta.generation.mode.is_positive:
        items = case.body if isinstance(case.body, list) else [case.body]
        for item in items:
            if isinstance(item, dict) and "raw" in item:
                item["raw"] = _without_nul(item["raw"])
    return case


def _record(run: dict, recorder) -> None:
    for case_id, node in recorder.cases.items():
        case = node.value
        label = f"{case.method.upper()} {case.operation.path}"
        interaction = recorder.interactions.get(case_id)
        if interaction is not None and interaction.response is not None:
            run["calls"][label] += 1
            run["statuses"][interaction.response.status_code] += 1
            run["answers"][label, interaction.response.status_code] += 1
            run["identities"][case.auth_identity, interaction.response.status_code] += 1
        parent = recorder.cases.get(node.parent_id) if node.parent_id else None
        if parent is not None and node.transition is not None:
            link = f"{parent.value.method.upper()} {parent.value.operation.path} -> {label}"
            run["links"][link] += 1
            if interaction is not None and interaction.response is not None:
                run["answers"][link, interaction.response.status_code] += 1
    for case_id, checks in recorder.checks.items():
        for check in checks:
            run["checks"].add(check.name)
            if check.status == Status.FAILURE and check.failure_info is not None:
                case = recorder.cases[case_id].value
                failure = check.failure_info.failure
                run["failures"].append(f"{check.name} on {case.method.upper()} {case.operation.path}: {failure.title}\n"
                                       f"{failure.message}\n{check.failure_info.code_sample}")


def _report(run: dict) -> str:
    return "\n\n".join(dict.fromkeys(run["failures"]))  # the same failure once


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_every_operation_answers_within_its_schema(api, mode):
    run = _run(api, mode=mode, phases={"examples", "coverage", "fuzzing"})
    assert run["operations"] >= EXPECTED_OPERATIONS
    assert not run["failures"], _report(run)
    called = {label: count for label, count in run["calls"].items() if label in run["operations"]}
    assert set(called) == run["operations"] and min(called.values()) >= 5, run["calls"]  # every operation, often
    assert EVERY_CHECK - {"use_after_free", "ensure_resource_availability", "object_level_authorization"} <= run[
        "checks"], run["checks"]  # the stateful three need a request that follows another: the tests below
    bodies = {media for item in run["raw"]["paths"].values() for operation in item.values() if isinstance(operation, dict)
              for media in operation.get("requestBody", {}).get("content", {})}
    assert bodies == {"application/json"}  # JSON only: no form or multipart body is offered
    answers = run["answers"]
    if mode == "positive":
        assert answers["POST /api/v1/mentions/", 201] and answers["POST /api/v1/customers/bulk/", 200], answers
        assert answers["PATCH /api/v1/webhooks/{id}/", 200] and answers["GET /api/v1/customers/{id}/", 404], answers
    else:
        assert run["statuses"][400] > run["statuses"][200], run["statuses"]  # data that breaks the schema refused


def test_linked_operations_in_sequence_keep_to_the_schema(api):
    """The state machine follows the links, with every check on each answer: first over every operation (the narrower
    identities are refused what `crm` reads: object_level_authorization); then one resource at a time, so that its
    chain is walked often whatever other operations the API grows: a subscription created, read, changed and deleted
    (use_after_free, ensure_resource_availability), and a customer read, then changed with the ETag the read answered
    (the schema's link from ETag to If-Match), which is 200, not 412."""
    run = _run(api, mode="positive", phases={"stateful"})
    assert not run["failures"], _report(run)
    assert sum(run["links"].values()) >= 20, run["links"]
    assert {"use_after_free", "ensure_resource_availability", "object_level_authorization"} <= run["checks"]
    peers = {(identity, status): count for (identity, status), count in run["identities"].items()
             if identity in ("intake", "agent")}
    assert peers and all(status == 403 for _, status in peers), run["identities"]  # asked, and refused

    webhooks = _run(api, mode="positive", phases={"stateful"}, paths="^/api/v1/webhooks/")
    assert not webhooks["failures"], _report(webhooks)
    assert {"POST /api/v1/webhooks/ -> GET /api/v1/webhooks/{id}/",
            "POST /api/v1/webhooks/ -> PATCH /api/v1/webhooks/{id}/",
            "POST /api/v1/webhooks/ -> DELETE /api/v1/webhooks/{id}/"} <= set(webhooks["links"]), webhooks["links"]

    customers = _run(api, mode="positive", phases={"stateful"}, paths=r"^/api/v1/customers/(\{id\}/)?$")
    assert not customers["failures"], _report(customers)
    assert customers["answers"]["GET /api/v1/customers/{id}/ -> PATCH /api/v1/customers/{id}/", 200], customers[
        "answers"]
