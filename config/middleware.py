"""A bound on API request bodies, checked before anything reads them.

DRF's JSON parser reads the whole stream (Django's DATA_UPLOAD_MAX_MEMORY_SIZE applies only to `request.body`
and forms), so without this a 30 MB body is read, parsed and validated. A body announced over
BATON_API_MAX_BYTES is answered 413, a chunked one without Content-Length 411, in the API's error shape. The
webhooks (/hooks/) read their bodies in bounded chunks themselves (feedback.intake.webhooks.services).
"""

from django.conf import settings
from django.http import JsonResponse

API_PREFIX = "/api/"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse({"code": code, "message": message, "fields": {}}, status=status)
    response["Connection"] = "close"  # the body was not read: the connection cannot carry another request
    return response


def announced_length(request) -> int | None:
    """The Content-Length header as a number; None when absent or not a number."""
    value = request.META.get("CONTENT_LENGTH") or ""
    return int(value) if value.isascii() and value.isdigit() else None


def is_chunked(request) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


class ApiBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in BODY_METHODS and request.path.startswith(API_PREFIX):
            refused = self.refuse(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    @staticmethod
    def refuse(request) -> JsonResponse | None:
        limit = settings.BATON_API_MAX_BYTES
        length = announced_length(request)
        if length is None and is_chunked(request):
            return _error(411, "length_required",
                          "Send the body with a Content-Length header (chunked bodies are not taken by the API).")
        if length is not None and length > limit:
            return _error(413, "too_large",
                          f"The body is {length:,} bytes; the API takes at most {limit:,} (BATON_API_MAX_BYTES). "
                          "Split a list of mentions into several requests.")
        return None
