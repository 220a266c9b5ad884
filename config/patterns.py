"""Rules for text that the services check and the API's OpenAPI schema publishes as `pattern`s, one spelling for
both: character classes of \\uXXXX escapes, which Python's re (the services; hypothesis generates from it),
ECMA-262 and Rust's regex (schema validators) all read alike. `\\s` is not the same set in the three.

Each is written without anchors: the services match a whole value (`re.fullmatch`), the schema anchors them."""

import sys


def char_class(codes: list[int]) -> str:
    """`codes` (sorted) as the inside of a regex character class: \\uXXXX escapes and ranges."""
    parts, start = [], None
    for index, code in enumerate(codes):
        start = code if start is None else start
        if index + 1 < len(codes) and codes[index + 1] == code + 1:
            continue
        parts.append(f"\\u{start:04x}" if start == code else f"\\u{start:04x}-\\u{code:04x}")
        start = None
    return "".join(parts)


# What str.strip() takes away around a value (str.isspace()).
WHITESPACE = char_class([code for code in range(sys.maxunicode + 1) if chr(code).isspace()])
# A text without U+0000 (PostgreSQL cannot store it), and one that is more than white space.
NO_NUL = r"[^\u0000]*"
NOT_BLANK = rf"[^\u0000]*[^\u0000{WHITESPACE}][^\u0000]*"

# An http or https URL: a host name or IPv4 address (a name without a dot too: a receiver on a CRM's own network),
# a port up to 65535, then anything but white space. No credentials (`user:pass@`: they would be logged with the
# URL), no IPv6 literal. A webhook receiver and a mention's link are both such a URL.
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"


def anchored(pattern: str) -> str:
    """`pattern` as a schema's `pattern` (which matches anywhere unless anchored)."""
    return f"^(?:{pattern})$"


def whole_number_up_to(maximum: int) -> str:
    """A whole number from 0 to `maximum` in ASCII digits, without leading zeros."""
    digits = str(maximum)
    options = ["0"] if maximum >= 0 else []
    if len(digits) > 1:
        options.append(f"[1-9][0-9]{{0,{len(digits) - 2}}}")
    for index, digit in enumerate(digits):
        low = 1 if index == 0 else 0
        if int(digit) > low:
            high = int(digit) - 1
            rest = len(digits) - index - 1
            spot = f"[{low}-{high}]" if high > low else str(low)
            options.append(digits[:index] + spot + (f"[0-9]{{{rest}}}" if rest else ""))
    options.append(digits)
    return "(?:" + "|".join(dict.fromkeys(options)) + ")"


HTTP_URL = (rf"[Hh][Tt][Tt][Pp][Ss]?://{_LABEL}(?:\.{_LABEL})*(?::{whole_number_up_to(65535)})?"
            rf"(?:[/?#][^\u0000{WHITESPACE}]*)?")
