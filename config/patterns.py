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
# URL), no IPv6 literal (a webhook receiver may have one: RECEIVER_URL). A mention's link is such a URL.
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

# An IPv6 address as RFC 3986 writes one in a URL's brackets (IPv6address; no zone: a zone names a link-local
# address), which is what Python's ipaddress reads: eight groups, "::" for a run of zero groups, an IPv4 address
# in the last 32 bits, each IPv4 number without a leading zero.
_H16 = "[0-9A-Fa-f]{1,4}"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LS32 = rf"(?:{_H16}:{_H16}|{_OCTET}(?:\.{_OCTET}){{3}})"
IPV6 = "(?:" + "|".join([
    rf"(?:{_H16}:){{6}}{_LS32}",
    rf"::(?:{_H16}:){{5}}{_LS32}",
    # at most `most` groups before the "::", `after` groups and the last 32 bits behind it
    *(rf"(?:(?:{_H16}:){{0,{most - 1}}}{_H16})?::(?:{_H16}:){{{after}}}{_LS32}"
      for most, after in ((1, 4), (2, 3), (3, 2), (4, 1), (5, 0))),
    rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
    rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
]) + ")"

# Where a webhook goes: HTTP_URL, or with an IPv6 address in brackets for its host (whether the address is public is
# customers.webhooks.targets' to say, as for an IPv4 address). Still no credentials.
RECEIVER_URL = (rf"[Hh][Tt][Tt][Pp][Ss]?://(?:{_LABEL}(?:\.{_LABEL})*|\[{IPV6}\])"
                rf"(?::{whole_number_up_to(65535)})?(?:[/?#][^\u0000{WHITESPACE}]*)?")
