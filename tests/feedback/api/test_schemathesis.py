"""schemathesis against the live schema: every operation, a bounded number of generated requests each,
no 500s and no answer that breaks the schema (status codes, content types, headers, bodies)."""

from collections import Counter

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management.color import no_style
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from customers.models import Customer, Identity
from customers.webhooks.services import create_subscription
from feedback.cases.models import Case
from feedback.intake.models import Mention
from tests.factories import CaseFactory, CustomerFactory, IdentityFactory, MentionFactory

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXPECTED_OPERATIONS = {
    "GET /api/v1/customers/", "POST /api/v1/customers/bulk/", "GET /api/v1/customers/{id}/",
    "PATCH /api/v1/customers/{id}/", "POST /api/v1/customers/{id}/merge/", "GET /api/v1/customers/{id}/timeline/",
    "GET /api/v1/customers/{id}/export/", "POST /api/v1/customers/{id}/erase/", "GET /api/v1/cases/", "GET /api/v1/cases/{id}/", "GET /api/v1/mentions/",
    "POST /api/v1/mentions/", "GET /api/v1/mentions/{id}/", "GET /api/v1/webhooks/", "POST /api/v1/webhooks/",
    "GET /api/v1/webhooks/{id}/", "PATCH /api/v1/webhooks/{id}/", "DELETE /api/v1/webhooks/{id}/",
    "GET /api/v1/webhooks/{id}/deliveries/", "POST /api/v1/webhooks/deliveries/{id}/redeliver/",
}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_operation_answers_within_its_schema(live_server, integration_key, settings):
    settings.BATON_API_SYNC_SETTLE_SECONDS = 0
    cache.clear()
    for n in range(3):
        customer = CustomerFactory(pk=n + 1)
        IdentityFactory(customer=customer)
        case = CaseFactory(pk=n + 1, customer=customer)
        MentionFactory(pk=n + 1, customer=customer, case=case)
    # Rows made with explicit ids leave the sequences behind them (run alone, a new row would take id 1 again).
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Customer, Identity, Case, Mention]):
            cursor.execute(sql)
    create_subscription(name="CRM", url="https://crm.example/hooks", event_types=["case.created"])
    headers = {"Authorization": f"Bearer {integration_key(rate_per_minute=1_000_000)}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json", headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{operation.method.upper()} {operation.path}" for operation in operations} >= EXPECTED_OPERATIONS

    failures, calls, statuses = [], Counter(), Counter()

    def checker(operation, label):
        @given(case=operation.as_strategy())
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
        except Exception as exc:  # noqa: BLE001 - collected: one report for every failing operation
            failures.append(f"{label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert set(calls) >= EXPECTED_OPERATIONS and min(calls.values()) >= 5, calls
    assert statuses[200] and statuses[400] and statuses[404], statuses  # answers, refusals and misses all checked
