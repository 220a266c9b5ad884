"""bench api, end to end on a small scale: gunicorn (gthread), the bulk upserts, the three sync lists through the
keep-alive clients with the server's CPU per request, and nothing of the bench left behind."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Customer
from feedback.cases.models import Case
from feedback.intake.models import Mention
from feedback.integrations.models import ApiToken


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_bench_api_measures_every_list_and_cleans_up(test_database_url):
    out = StringIO()  # the gunicorn the bench starts reads the test database's DATABASE_URL
    call_command("bench", "api", "--customers", "1000", "--cases", "300", "--clients", "3", "--pages", "4",
                 "--web-workers", "1", "--web-threads", "2", stdout=out)
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert figures["bench"] == "api" and figures["customers"] == 1000 and figures["web_threads"] == 2
    assert figures["upsert_per_s"] > 0 and figures["update_per_s"] > 0
    for name in ("list", "cases_list", "mentions_list"):
        assert 0 < figures[f"{name}_p50_ms"] <= figures[f"{name}_p99_ms"], name
        assert figures[f"{name}_server_cpu_ms"] > 0, name
    assert figures["list_requests_per_s"] > 0 and figures["list_client_cpu_ms"] > 0
    assert not Customer.objects.filter(external_id__startswith="bench-api-").exists()
    assert not Mention.objects.filter(external_id__startswith="bench-api-").exists()
    assert not Case.objects.exists() and not ApiToken.objects.exists()
