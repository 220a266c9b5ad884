"""Error pages that depend on who asked: the API and the webhooks answer a 500 in the API's JSON error shape
(config/api.py), the pages with templates/500.html."""

from django.http import JsonResponse
from django.views.defaults import page_not_found as html_page_not_found
from django.views.defaults import server_error as html_server_error

JSON_PREFIXES = ("/api/", "/hooks/")


def server_error(request, template_name="500.html"):
    if request.path.startswith(JSON_PREFIXES):
        return JsonResponse({"code": "server_error", "message": "Baton could not finish this request; it was logged.",
                             "fields": {}}, status=500)
    return html_server_error(request, template_name=template_name)


def page_not_found(request, exception, template_name="404.html"):
    """A URL under /api/ that names no operation answers 404 in the API's error shape, like any other API error."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "message": "No API operation at this URL: see /api/v1/schema/.",
                             "fields": {}}, status=404)
    return html_page_not_found(request, exception, template_name=template_name)
