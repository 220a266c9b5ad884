"""Keyset pagination for syncing: rows in (cursor field, id) order, a cursor that points after the
last row sent.

Why an incremental sync neither misses nor repeats a row: every write moves a row's `updated_at`
to the time of the write, so a row changed during a sync moves behind the cursor's position and
comes once more, changed, at the end (a row that did not change never comes twice); and the lists
leave out rows changed in the last BATON_API_SYNC_SETTLE_SECONDS, so a transaction that stamped its
rows a moment before it committed cannot land behind a cursor that has moved past that moment.
Keep the last `next_cursor` and send it later to get only what changed since.
"""

import base64
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from config.query import MAX_ID, parse_int

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1_000


class BadCursor(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_cursor"
    default_detail = "This cursor is not one Baton gave out: start again without `cursor`."


class BadPageSize(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_page_size"
    default_detail = f"`page_size` is a whole number from 1 to {MAX_PAGE_SIZE}."


def encode_cursor(moment: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        if len(cursor) > 200:
            raise ValueError
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        moment_text, pk_text = text.split("|")
        moment = datetime.fromisoformat(moment_text)
        pk = parse_int(pk_text, minimum=0, maximum=MAX_ID)
        if moment.tzinfo is None or pk is None:
            raise ValueError
        return moment, pk
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise BadCursor() from None


def _value(row, name: str):
    """A field of a page row: a model instance, or a dict from `.values()` (the lean lists; a time may come as
    `<name>_iso`, the text PostgreSQL wrote: crm_serializers.lean_values)."""
    if not isinstance(row, dict):
        return getattr(row, name)
    if name in row:
        return row[name]
    return datetime.fromisoformat(row[f"{name}_iso"])


class SyncCursorPagination(BasePagination):
    """Pages of `page_size` rows (default 100, at most 1,000) in the view's `cursor_field`, id order; newest first
    when the view sets `cursor_descending` (a timeline: a cursor then points before its last row, and nothing
    waits for the settle window, which only an incremental sync needs)."""

    def paginate_queryset(self, queryset, request, view=None):
        field = view.cursor_field
        descending = getattr(view, "cursor_descending", False)
        size_text = request.query_params.get("page_size")
        size = DEFAULT_PAGE_SIZE if size_text is None else parse_int(size_text, minimum=1, maximum=MAX_PAGE_SIZE)
        if size is None:
            raise BadPageSize()
        self.cursor = request.query_params.get("cursor") or None
        rows = queryset
        if not descending:
            settle = timezone.now() - timedelta(seconds=settings.BATON_API_SYNC_SETTLE_SECONDS)
            rows = rows.filter(**{f"{field}__lt": settle})
        if self.cursor:
            moment, pk = decode_cursor(self.cursor)
            # The first condition bounds the index scan; the second takes the rows after the cursor.
            if descending:
                rows = rows.filter(**{f"{field}__lte": moment}).filter(Q(**{f"{field}__lt": moment}) | Q(pk__lt=pk))
            else:
                rows = rows.filter(**{f"{field}__gte": moment}).filter(Q(**{f"{field}__gt": moment}) | Q(pk__gt=pk))
        order = (f"-{field}", "-pk") if descending else (field, "pk")
        page = list(rows.order_by(*order)[: size + 1])
        self.has_more = len(page) > size
        page = page[:size]
        if page:
            self.cursor = encode_cursor(_value(page[-1], field), _value(page[-1], "id"))
        return page

    def get_paginated_response(self, data):
        return Response({"results": data, "next_cursor": self.cursor, "has_more": self.has_more})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next_cursor", "has_more"],
            "properties": {
                "results": schema,
                "next_cursor": {
                    "type": "string", "nullable": True,
                    "description": "Send it as `cursor` for the next page; keep the last one to fetch later only "
                                   "what changed since. Null only when nothing was ever returned.",
                },
                "has_more": {"type": "boolean", "description": "More rows wait after this page now."},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "cursor", "in": "query", "required": False,
             "description": "The `next_cursor` of the previous page: an opaque token of at most 200 characters "
                            "(A-Z, a-z, 0-9, - and _), format `baton-cursor`. One Baton did not give out is refused "
                            "with 400 `invalid_cursor`; blank is the first page.",
             "schema": {"type": "string", "format": "baton-cursor"}},
            {"name": "page_size", "in": "query", "required": False,
             "description": f"Rows per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE}},
        ]
