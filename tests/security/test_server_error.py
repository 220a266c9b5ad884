"""A 500 answers in the caller's language: JSON (the API's error shape) under /api/ and /hooks/, HTML elsewhere."""

import pytest
from django.test import Client, override_settings
from django.urls import include, path

from config import urls as project_urls


def _boom(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("api/v1/boom/", _boom),
    path("hooks/boom/", _boom),
    path("boom/", _boom),
    path("", include("config.urls")),
]
handler500 = "config.views.server_error"


@pytest.fixture
def client():
    with override_settings(ROOT_URLCONF=__name__):
        yield Client(raise_request_exception=False)


@pytest.mark.parametrize("url", ["/api/v1/boom/", "/hooks/boom/"])
def test_api_and_webhook_errors_are_json(client, url):
    response = client.get(url)
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"code": "server_error", "message": "Baton could not finish this request; it was logged.",
                               "fields": {}}
    assert response.headers["Content-Security-Policy"]


def test_page_errors_are_the_html_page(client):
    response = client.get("/boom/")
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Something went wrong" in response.content.decode()


def test_the_project_urls_use_the_handler():
    assert project_urls.handler500 == "config.views.server_error"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/no-such-thing/", "/hooks/no-such-platform/a/", "/api/v1/mentions/extra"])
def test_an_unknown_api_or_webhook_url_is_a_json_404(url):
    response = Client().get(url)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == "not_found"
    assert body["message"].startswith("No API operation" if url.startswith("/api/") else "No webhook")


@pytest.mark.django_db
def test_an_unknown_page_is_the_html_404():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_webhook_answers_other_methods_405_in_the_error_shape(method):
    response = getattr(Client(), method)("/hooks/x/anyone/")
    assert response.status_code == 405 and response["Allow"] == "GET, POST"
    assert response.json()["code"] == "method_not_allowed"


def test_the_project_urls_use_the_json_aware_handlers():
    assert (project_urls.handler400, project_urls.handler403, project_urls.handler404) == (
        "config.views.bad_request", "config.views.permission_denied", "config.views.page_not_found")
