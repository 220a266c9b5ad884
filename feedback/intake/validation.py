"""The rules of a mention's fields, in plain Python: the one place for the limits and the checks.

`validate_mention(item)` returns `(data, None)` or `(None, {field: [message, ...]})`, and
`validate_mentions(items)` does it for a list: what the API's `MentionInSerializer` (which
builds its documented fields from the limits below and validates through this module), the
list endpoint and the file import (`feedback.intake.batch`) all use. No Django REST framework
here: the rules are the API's contract, not its implementation.

The messages and the cleaned values are DRF's for the same fields (its words, its coercions:
an int external_id becomes a string, "12.0" followers become 12, a naive time is made aware in
the current time zone), so a mention is accepted and worded alike whichever way it comes in;
tests/feedback/intake/test_validation.py compares the two item by item. The limits DRF does
not have: the follower count's upper bound (PostgreSQL's integer) and `raw`'s size and strict
JSON (no NaN), which the database would otherwise refuse for the whole batch. Where DRF takes
more than the API's schema can say, the rules take what the schema says (config.patterns): a URL
is http(s) (HTTP_URL), a follower count as text is ASCII digits (FOLLOWERS_TEXT), a number in a
text field is at most NUMBER_AS_TEXT_MAX either way.

A well-formed item (exact JSON types, nothing to coerce) costs a few type checks per field:
the bulk endpoint validates 1,000 items per request on this path.
"""

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.patterns import HTTP_URL, WHITESPACE, whole_number_up_to
from feedback.choices import Source

# --- The limits --------------------------------------------------------------------------------

SOURCES: tuple[str, ...] = tuple(Source.values)
MAX_LENGTH = {"external_id": 200, "text": 10_000, "author_handle": 200, "author_name": 200, "url": 500}
FOLLOWERS_MIN = 0
FOLLOWERS_MAX = 2_147_483_647  # Mention.author_followers is a PostgreSQL integer
NUMBER_AS_TEXT_MAX = 10**15  # a JSON number in a text field is taken as its text up to this size (12345 -> "12345")
RAW_MAX_CHARS = 100_000  # `raw` as JSON text; a long X post and its author are well under it
RAW_MAX_DEPTH = 64  # nesting of `raw`; an X Tweet object is about six levels deep
# Every field, in order; `REQUIRED` must be present. The others default as below when absent.
FIELDS = ("source", "external_id", "text", "posted_at", "author_handle", "author_name", "author_followers", "url",
          "raw")
REQUIRED = ("source", "external_id", "text", "posted_at", "author_handle")
DEFAULTS: dict[str, Callable[[], Any]] = {
    "author_name": str, "author_followers": lambda: None, "url": str, "raw": dict,
}
NULLABLE = frozenset({"author_followers"})
BLANK_ALLOWED = frozenset({"author_name", "url"})
# The one format an API datetime may have (Django's parse_datetime: ISO 8601; without an offset
# the time is in the current time zone), as DRF words it.
DATETIME_FORMAT_HINT = "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]"

FieldErrors = dict[str, list[str]]

# --- The messages (DRF's words for the same rules) -----------------------------------------------

REQUIRED_MESSAGE = "This field is required."
NULL_MESSAGE = "This field may not be null."
BLANK_MESSAGE = "This field may not be blank."
NOT_TEXT_MESSAGE = "Not a valid string."
TOO_LONG_MESSAGE = "Ensure this field has no more than {max_length} characters."
NUL_MESSAGE = "Null characters are not allowed."
SURROGATE_MESSAGE = "Surrogate characters are not allowed: U+{code_point:X}."
URL_MESSAGE = "Enter a valid URL."
CHOICE_MESSAGE = '"{input}" is not a valid choice.'
INTEGER_MESSAGE = "A valid integer is required."
INTEGER_TEXT_TOO_LONG_MESSAGE = "String value too large."
MAX_VALUE_MESSAGE = "Ensure this value is less than or equal to {max_value}."
MIN_VALUE_MESSAGE = "Ensure this value is greater than or equal to {min_value}."
DATETIME_MESSAGE = f"Datetime has wrong format. Use one of these formats instead: {DATETIME_FORMAT_HINT}."
DATE_MESSAGE = "Expected a datetime but got a date."
MAKE_AWARE_MESSAGE = 'Invalid datetime for the timezone "{timezone}".'
OVERFLOW_MESSAGE = "Datetime value out of range."
JSON_MESSAGE = "Value must be valid JSON."
JSON_TOO_LONG_MESSAGE = "Ensure this JSON has no more than {max_chars} characters."
JSON_TOO_DEEP_MESSAGE = "Ensure this JSON is nested no more than {max_depth} levels deep."
JSON_NUL_MESSAGE = "Null characters are not allowed (PostgreSQL cannot store U+0000 in JSON)."


class Invalid(Exception):
    """A field's value breaks its rules; `messages` says how."""

    def __init__(self, *messages: str):
        super().__init__(*messages)
        self.messages = list(messages)


# --- Datetimes ----------------------------------------------------------------------------------

TWITTER_DATE_FORMAT = "%a %b %d %H:%M:%S %z %Y"  # Wed Oct 10 20:19:24 +0000 2018


def parse_posted_at(value: Any) -> datetime:
    """A date in a file: ISO 8601 (a naive time is UTC) or Twitter's classic
    "Wed Oct 10 20:19:24 +0000 2018". Raises ValueError."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("A date is required.")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text, TWITTER_DATE_FORMAT)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date: use ISO 8601 (2018-10-10T20:19:24+00:00; without an offset it is UTC) "
                "or Twitter's format (Wed Oct 10 20:19:24 +0000 2018)."
            ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _ambiguous(value: datetime) -> bool:
    """A local time its zone repeats (the hour a DST change turns back), as DRF checks it."""
    return value.astimezone(UTC) == value and value.replace(fold=not value.fold).utcoffset() != value.utcoffset()


def _in_zone(value: datetime, zone: tzinfo) -> datetime:
    try:
        if value.utcoffset() is not None:
            return value.astimezone(zone)
        aware = timezone.make_aware(value, zone)
        ambiguous = _ambiguous(aware)
    except OverflowError:
        raise Invalid(OVERFLOW_MESSAGE) from None
    if ambiguous:
        raise Invalid(MAKE_AWARE_MESSAGE.format(timezone=zone))
    return aware


def clean_datetime(value: Any, zone: tzinfo) -> datetime:
    """An API datetime: a datetime, or ISO 8601 text; the result is aware, in `zone`."""
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value)  # what Django's parse_datetime tries first
        except ValueError:
            parsed = None
        if parsed is not None and parsed.utcoffset() is not None:
            try:
                return parsed.astimezone(zone)
            except OverflowError:
                raise Invalid(OVERFLOW_MESSAGE) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        raise Invalid(DATE_MESSAGE)
    if isinstance(value, datetime):
        return _in_zone(value, zone)
    try:
        parsed = parse_datetime(value)
    except (ValueError, TypeError):
        parsed = None
    if parsed is None:
        raise Invalid(DATETIME_MESSAGE)
    return _in_zone(parsed, zone)


# --- The fields' checks ----------------------------------------------------------------------------

_HTTP_URL = re.compile(HTTP_URL)


def _surrogate(text: str) -> str | None:
    """The message for the first lone surrogate in `text` (which UTF-8 cannot encode), if any."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return SURROGATE_MESSAGE.format(code_point=ord(text[exc.start]))
    return None


def _text_check(name: str, *, url: bool = False, blank: bool | None = None) -> Callable[[Any], str]:
    longest = MAX_LENGTH[name]
    too_long = TOO_LONG_MESSAGE.format(max_length=longest)
    allow_blank = name in BLANK_ALLOWED if blank is None else blank

    def check(value: Any) -> str:
        if type(value) is str:
            text = value.strip()
            if not text:
                if allow_blank:
                    return ""
                raise Invalid(BLANK_MESSAGE)
            if len(text) <= longest and "\x00" not in text and text.isascii() and not url:
                return text  # the common case: nothing else to check
        else:
            if str(value).strip() == "":
                if allow_blank:
                    return ""
                raise Invalid(BLANK_MESSAGE)
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise Invalid(NOT_TEXT_MESSAGE)
            if not isinstance(value, str) and not -NUMBER_AS_TEXT_MAX <= value <= NUMBER_AS_TEXT_MAX:
                raise Invalid(NOT_TEXT_MESSAGE)  # 1e300 is no one's id or name (DRF would take it as "1e+300")
            text = str(value).strip()
        problems = []
        if len(text) > longest:
            problems.append(too_long)
        if "\x00" in text:
            problems.append(NUL_MESSAGE)
        if not text.isascii():
            surrogate = _surrogate(text)
            if surrogate:
                problems.append(surrogate)
        if url and not _HTTP_URL.fullmatch(text):
            problems.append(URL_MESSAGE)
        if problems:
            raise Invalid(*problems)
        return text

    return check


def _source_check(value: Any) -> str:
    if type(value) is str and value in _SOURCE_SET:
        return value
    key = str(value)
    if key in _SOURCE_SET:
        return key
    raise Invalid(CHOICE_MESSAGE.format(input=value))


_SOURCE_SET = frozenset(SOURCES)
_INTEGER_TEXT_LIMIT = 1000
_FAST_INT_LIMIT = 10**18
_FLOAT_DIGITS_LIMIT = 1e16  # from here str(float) has an exponent ("1e+16"), which DRF does not read as an integer
# A follower count as text: digits up to the maximum, maybe ".0", white space around (DRF also reads "+5", "1_000"
# and other scripts' digits: not here, so that the API's schema can say exactly what is taken).
FOLLOWERS_TEXT = rf"[{WHITESPACE}]*{whole_number_up_to(FOLLOWERS_MAX)}(?:\.0*)?[{WHITESPACE}]*"
_FOLLOWERS_TEXT = re.compile(FOLLOWERS_TEXT)


def _followers_check(value: Any) -> int:
    if type(value) is int and -_FAST_INT_LIMIT < value < _FAST_INT_LIMIT:
        number = value
    elif type(value) is float and value.is_integer() and abs(value) < _FLOAT_DIGITS_LIMIT:
        number = int(value)  # 12.0 is 12 (and -0.0 is 0)
    elif isinstance(value, str) and len(value) > _INTEGER_TEXT_LIMIT:
        raise Invalid(INTEGER_TEXT_TOO_LONG_MESSAGE)
    elif type(value) is str and _FOLLOWERS_TEXT.fullmatch(value):
        return int(value.strip().split(".")[0])
    elif type(value) is int:
        number = value
    else:
        raise Invalid(INTEGER_MESSAGE)
    if FOLLOWERS_MIN <= number <= FOLLOWERS_MAX:
        return number
    problems = []
    if number > FOLLOWERS_MAX:
        problems.append(MAX_VALUE_MESSAGE.format(max_value=FOLLOWERS_MAX))
    if number < FOLLOWERS_MIN:
        problems.append(MIN_VALUE_MESSAGE.format(min_value=FOLLOWERS_MIN))
    raise Invalid(*problems)


_encode_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def _json_strings_and_depth(value: Any) -> tuple[list[str], int]:
    """Every string (keys included) in a JSON value, and its nesting depth, walked without recursion."""
    strings: list[str] = []
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, depth)
            for key, child in node.items():
                strings.append(str(key))
                stack.append((child, depth + 1))
        elif isinstance(node, list | tuple):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str):
            strings.append(node)
    return strings, deepest


def _raw_check(value: Any) -> Any:
    if type(value) is dict and not value:
        return value
    try:
        text = _encode_json(value)
    except (TypeError, ValueError, RecursionError):
        raise Invalid(JSON_MESSAGE) from None
    if len(text) > RAW_MAX_CHARS:
        raise Invalid(JSON_TOO_LONG_MESSAGE.format(max_chars=RAW_MAX_CHARS))
    # Cheap tests on the JSON text first; the walk only when one of them may be true. The JSON text escapes
    # U+0000 as \u0000 and keeps a lone surrogate as it is (ensure_ascii=False); every level opens a { or [.
    maybe_nul = "\\u0000" in text
    maybe_surrogate = not text.isascii() and _surrogate(text) is not None
    maybe_deep = text.count("{") + text.count("[") > RAW_MAX_DEPTH
    if maybe_nul or maybe_surrogate or maybe_deep:
        strings, depth = _json_strings_and_depth(value)
        problems = []
        if depth > RAW_MAX_DEPTH:
            problems.append(JSON_TOO_DEEP_MESSAGE.format(max_depth=RAW_MAX_DEPTH))
        if maybe_nul and any("\x00" in string for string in strings):
            problems.append(JSON_NUL_MESSAGE)
        if maybe_surrogate:
            surrogate = next(filter(None, (_surrogate(string) for string in strings)), None)
            if surrogate:
                problems.append(surrogate)
        if problems:
            raise Invalid(*problems)
    return value


_DATETIME = object()  # posted_at's check needs the zone: it is called apart
_CHECKS: dict[str, Any] = {
    "source": _source_check,
    "external_id": _text_check("external_id"),
    "text": _text_check("text"),
    "posted_at": _DATETIME,
    "author_handle": _text_check("author_handle"),
    "author_name": _text_check("author_name"),
    "author_followers": _followers_check,
    "url": _text_check("url", url=True),
    "raw": _raw_check,
}
_MISSING = object()
_PLAN = tuple((name, _CHECKS[name], name in REQUIRED, DEFAULTS.get(name), name in NULLABLE) for name in FIELDS)
# The webhooks take a post whose text or author the platform leaves out (an Instagram `mentions` event carries
# neither): every other rule and limit is the same.
WEBHOOK_BLANK_ALLOWED = frozenset({"text", "author_handle"})
_WEBHOOK_PLAN = tuple(
    (name, _text_check(name, blank=True) if name in WEBHOOK_BLANK_ALLOWED else check, *rest)
    for name, check, *rest in _PLAN
)


def check_text(name: str, value: Any) -> str:
    """One text field's rules (`external_id`, `text`, `author_handle`, `author_name`, `url`): the cleaned
    value, or `Invalid`. For values that arrive outside a mention item: a webhook's edit, removal, reply or
    thread parent."""
    check = _CHECKS[name]
    if value is None:
        raise Invalid(NULL_MESSAGE)
    return check(value)


# --- Validating --------------------------------------------------------------------------------------


def not_an_object(item: Any) -> FieldErrors:
    kind = "null" if item is None else type(item).__name__
    return {"non_field_errors": [f"Expected a JSON object (one mention), got {kind}."]}


def _validate(item: Any, zone: tzinfo, plan: tuple = _PLAN) -> tuple[dict | None, FieldErrors | None]:
    if not isinstance(item, Mapping):
        return None, not_an_object(item)
    get = item.get
    data: dict[str, Any] = {}
    errors: FieldErrors = {}
    for name, check, required, default, nullable in plan:
        value = get(name, _MISSING)
        if value is _MISSING:
            if required:
                errors[name] = [REQUIRED_MESSAGE]
            else:
                data[name] = default()
            continue
        if value is None:
            if nullable:
                data[name] = None
            else:
                errors[name] = [NULL_MESSAGE]
            continue
        try:
            data[name] = clean_datetime(value, zone) if check is _DATETIME else check(value)
        except Invalid as exc:
            errors[name] = exc.messages
    if errors:
        return None, errors
    return data, None


def validate_mention(item: Any) -> tuple[dict | None, FieldErrors | None]:
    """(the cleaned mention, None), or (None, {field: [message, ...]}). No database access."""
    return _validate(item, timezone.get_current_timezone())


def validate_webhook_mention(item: Any) -> tuple[dict | None, FieldErrors | None]:
    """`validate_mention` for a post a platform's webhook delivered: the same rules and limits, but the text
    and the author's handle may be blank (`WEBHOOK_BLANK_ALLOWED`)."""
    return _validate(item, timezone.get_current_timezone(), _WEBHOOK_PLAN)


def validate_mentions(items: Sequence[Any]) -> list[tuple[dict | None, FieldErrors | None]]:
    """`validate_mention` for each item, in order."""
    zone = timezone.get_current_timezone()
    return [_validate(item, zone) for item in items]
