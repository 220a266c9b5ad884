"""Query-string (and form list) values that pages read, parsed one way: a value that is not what the page
expects is ignored, as if it were absent. A page never answers 500 to a crafted URL.

`"²".isdigit()` is true and `int("²")` raises, so `value.isdigit()` is not a test for "an id": use these.
"""

from collections.abc import Iterable

# PostgreSQL's bigint, the type of every id: a larger number cannot name a row.
MAX_ID = 2**63 - 1


def parse_int(value: str | None, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """An integer written in ASCII digits within [minimum, maximum], else None."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > len(str(maximum)):
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


def int_param(request, name: str, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """A query parameter holding an id or a page number; None when absent or not one."""
    return parse_int(request.GET.get(name), minimum=minimum, maximum=maximum)


def choice_param(request, name: str, choices: Iterable[str], *, default: str = "") -> str:
    """A query parameter that must be one of `choices`: the default when absent, "" when not one of them."""
    value = request.GET.get(name)
    if value is None:
        return default
    return value if value in set(choices) else ""


def int_list(values: Iterable[str]) -> list[int]:
    """Ids from a repeated form field (`request.POST.getlist(...)`); values that are not ids are dropped."""
    return [number for number in (parse_int(value) for value in values) if number is not None]
