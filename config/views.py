"""Error pages that depend on who asked: the API and the webhooks answer in the API's JSON error shape
(config/api.py), the pages with their templates (templates/404.html, 500.html...). Django calls these for errors
raised outside a view that handles them: an unknown URL under /api/, a refused request (400), a 500."""

from django.http import JsonResponse
from django.views import defaults

JSON_PREFIXES = ("/api/", "/hooks/")


def _json(request) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "fields": {}}, status=status)


def server_error(request, template_name="500.html"):
    if _json(request):
        return _error(500, "server_error", "Baton could not finish this request; it was logged.")
    return defaults.server_error(request, template_name=template_name)


def page_not_found(request, exception, template_name="404.html"):
    if request.path.startswith("/api/"):
        return _error(404, "not_found", "No API operation at this URL: see /api/v1/schema/.")
    if _json(request):
        return _error(404, "not_found", "No webhook at this URL: /hooks/x/<account>/ or /hooks/meta/<account>/.")
    return defaults.page_not_found(request, exception, template_name=template_name)


def bad_request(request, exception, template_name="400.html"):
    if _json(request):
        return _error(400, "bad_request", "The request could not be read.")
    return defaults.bad_request(request, exception, template_name=template_name)


def permission_denied(request, exception, template_name="403.html"):
    if _json(request):
        return _error(403, "permission_denied", "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception, template_name=template_name)
