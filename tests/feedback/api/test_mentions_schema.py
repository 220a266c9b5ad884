"""schemathesis on the mention intake (POST /api/v1/mentions/) against a live server, with all its checks:
generated bodies (one mention, lists, and bodies that break the schema) never get a 500, every answer is one the
schema describes (status code, content type, headers, body), valid bodies are taken and invalid ones refused. tests/feedback/api/test_schemathesis.py (CRM API) runs every
operation; this one looks harder at the intake."""

import pytest
import schemathesis
from django.contrib.auth.models import Permission
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.factories import UserFactory

# Every check schemathesis has for one operation: the schema says what the intake takes (a list of any items,
# each answered in its result; strings without U+0000; required ones not only white space), so valid data is
# accepted and invalid data refused, besides the conformance of every answer.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection, positive_data_acceptance, unsupported_method,
          ignored_auth, missing_required_header]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_mention_intake_answers_within_its_schema(live_server, mode):
    user = UserFactory(username="schema-integration")
    user.user_permissions.add(Permission.objects.get(codename="add_mention", content_type__app_label="feedback"))
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json", headers=headers)
    operation = schema["/api/v1/mentions/"]["POST"]
    schema_of_body = operation.definition.raw["requestBody"]["content"]
    assert list(schema_of_body) == ["application/json"]  # JSON only: no form or multipart bodies offered

    statuses = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(max_examples=100, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call(base_url=live_server.url, headers=headers)
        statuses.add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()
    if mode == GenerationMode.POSITIVE:
        assert statuses & {200, 201}, statuses  # some generated mentions were stored, not only refused
    else:
        assert 400 in statuses, statuses
