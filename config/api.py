"""One JSON error shape for the whole API: {"code", "message", "fields"}."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import BatonError, NotAllowed


def _field_messages(detail, prefix: str = "", into: dict | None = None) -> dict[str, list[str]]:
    """A validation error as the error shape's `fields`: field name -> list of messages, as the schema says. An
    error inside a list or a nested object (a ListField's item, a nested serializer) is named by its path:
    `event_types.0`, `identities.1.handle`."""
    into = {} if into is None else into
    if isinstance(detail, dict):
        for key, value in detail.items():
            _field_messages(value, f"{prefix}.{key}" if prefix else str(key), into)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                _field_messages(item, f"{prefix}.{index}" if prefix else str(index), into)
            else:
                into.setdefault(prefix or "non_field_errors", []).append(str(item))
    else:
        into.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return into


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(fields)
    elif isinstance(exc, NotAllowed):
        exc = exceptions.PermissionDenied(exc.message)
    elif isinstance(exc, BatonError):
        body = {"code": exc.code, "message": exc.message, "fields": exc.fields}
        return Response(body, status=getattr(exc, "http_status", status.HTTP_409_CONFLICT))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ParseError):
        body = {
            "code": "parse_error",
            "message": "The request body is not valid JSON; send a JSON object with Content-Type: application/json.",
            "fields": {"body": [str(exc.detail)]},
        }
    elif isinstance(exc, exceptions.ValidationError):
        fields = _field_messages(exc.detail)
        body = {"code": "invalid", "message": "Some fields are invalid; see `fields`.", "fields": fields}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        body = {"code": code if isinstance(code, str) else "error", "message": str(detail), "fields": {}}
    response.data = body
    return response
