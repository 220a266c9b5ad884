"""The API's one parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]): JSON only, bounded. A module of its own: the
settings name it, and DRF reads them while `rest_framework.views` is imported."""

import json

from django.conf import settings
from rest_framework import exceptions, parsers


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(parsers.JSONParser):
    """JSON with bounds: at most BATON_API_MAX_BYTES read (the middleware refuses a larger announced body first),
    strict UTF-8, no NaN or Infinity, and nesting Python cannot parse (RecursionError), an integer of more than
    4,300 digits or a bad byte a 400 in the error shape, never a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.BATON_API_MAX_BYTES
        data = b""
        if stream is not None:
            chunks, total = [], 0
            while chunk := stream.read(min(64 * 1024, limit + 1 - total)):
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise exceptions.ParseError(f"The body is over {limit:,} bytes (BATON_API_MAX_BYTES).")
            data = b"".join(chunks)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"The body is not UTF-8: {exc}") from None
        try:
            return json.loads(text, parse_constant=_no_constant)
        except RecursionError:
            raise exceptions.ParseError("The JSON is nested too deeply.") from None
        except ValueError as exc:  # JSONDecodeError, NaN, an integer too long to convert
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
