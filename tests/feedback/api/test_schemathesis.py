"""schemathesis against the live schema with all its checks: every operation, a bounded number of generated
requests each, in both modes (data the schema allows, which must be accepted, and data that breaks it, which must be
refused): no 500s, no answer that breaks the schema (status codes, content types, headers, bodies), unsupported
methods answered 405, missing auth refused. And the operations chained along the links schemathesis infers (create,
then read, change, delete), for the stateful checks (use after free, resource availability, object-level
authorization), which do nothing on a request that follows no other."""

import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.generation.modes import GenerationMode

from config.query import MAX_ID
from customers.webhooks.services import create_subscription
from feedback.api.pagination import encode_cursor
from tests.factories import CaseFactory, CustomerFactory, IdentityFactory, MentionFactory

MAX_EXAMPLES = 25
load_all_checks()
# A cursor is an opaque token: no JSON Schema can say which strings Baton handed out, so the schema names its own
# format (`baton-cursor`) and the generator makes cursors the way the server does.
schemathesis.openapi.format("baton-cursor", st.builds(
    encode_cursor, st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=0, max_value=MAX_ID)))
# An Idempotency-Key is unique per request (the same key with another body is refused, 422, as the IETF draft
# says): a fresh UUID for every request, as the schema's description asks of a client.
schemathesis.openapi.format("idempotency-key", st.builds(lambda: str(uuid.uuid4())))
CHECKS = REGISTRY.get_all()  # every check schemathesis has
EXPECTED_OPERATIONS = {
    "GET /api/v1/customers/", "POST /api/v1/customers/bulk/", "GET /api/v1/customers/{id}/",
    "PATCH /api/v1/customers/{id}/", "GET /api/v1/cases/", "GET /api/v1/cases/{id}/", "GET /api/v1/mentions/",
    "POST /api/v1/mentions/", "GET /api/v1/mentions/{id}/", "GET /api/v1/webhooks/", "POST /api/v1/webhooks/",
    "GET /api/v1/webhooks/{id}/", "PATCH /api/v1/webhooks/{id}/", "DELETE /api/v1/webhooks/{id}/",
    "GET /api/v1/webhooks/{id}/deliveries/", "POST /api/v1/webhooks/deliveries/{id}/redeliver/",
}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_within_its_schema(live_server, integration_key, settings, mode):
    settings.BATON_API_SYNC_SETTLE_SECONDS = 0
    cache.clear()
    for n in range(3):
        customer = CustomerFactory(pk=n + 1)
        IdentityFactory(customer=customer)
        case = CaseFactory(pk=n + 1, customer=customer)
        MentionFactory(pk=n + 1, customer=customer, case=case)
    create_subscription(name="CRM", url="http://127.0.0.1:9/", event_types=["case.created"])
    headers = {"Authorization": f"Bearer {integration_key(rate_per_minute=1_000_000)}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json", headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{operation.method.upper()} {operation.path}" for operation in operations} >= EXPECTED_OPERATIONS

    failures, calls, statuses = [], Counter(), Counter()

    def checker(operation, label):
        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call(base_url=live_server.url, headers=headers)
            calls[label] += 1
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        return check

    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        check = checker(operation, label)
        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected: one report for every failing operation
            failures.append(f"{label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert set(calls) >= EXPECTED_OPERATIONS and min(calls.values()) >= 5, calls
    if mode == GenerationMode.POSITIVE:
        assert statuses[200] and statuses[404], statuses  # answers and misses both checked
    else:
        assert statuses[400], statuses  # data that breaks the schema is refused


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_linked_operations_in_sequence_keep_to_the_schema(live_server, integration_key, settings):
    """The stateful checks (use_after_free, ensure_resource_availability, object_level_authorization) need a
    request that follows another (create, then read or delete it): schemathesis' state machine chains the
    operations along the links it infers from the schema, with every check on each answer."""
    settings.BATON_API_SYNC_SETTLE_SECONDS = 0
    cache.clear()
    customer = CustomerFactory(pk=1)
    MentionFactory(pk=1, customer=customer, case=CaseFactory(pk=1, customer=customer))
    headers = {"Authorization": f"Bearer {integration_key(rate_per_minute=1_000_000)}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json", headers=headers)
    schema.config.update(base_url=live_server.url, headers=headers)
    machine = schema.as_state_machine()
    linked = {name for name in machine.bundles}  # operations whose answers feed others (links inferred)
    assert {"POST /api/v1/webhooks/ -> 201", "GET /api/v1/customers/ -> 200"} <= linked, linked
    machine.run(settings=hypothesis_settings(max_examples=15, stateful_step_count=6, deadline=None, database=None,
                                             derandomize=True, suppress_health_check=list(HealthCheck)))
