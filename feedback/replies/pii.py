"""The PII guard: what a public reply must not contain, found by real detectors.

- email addresses: a candidate by pattern, kept when `email_validator` accepts its syntax;
- phone numbers: `phonenumbers.PhoneNumberMatcher` (valid numbers only; a number without a country
  code is read in BATON_PHONE_REGION);
- card numbers: 13 to 19 digits (spaces or dashes between groups allowed) that pass the Luhn check;
- order numbers: BATON_ORDER_NUMBER_PATTERN;
- another customer's name: runs of two or three capitalised words that are the name of a customer
  other than the case's own (one query, `other_customer_names`).

`scan` is plain Python apart from the names lookup the caller passes in; each finding says what was
found, where, and why it must not be posted.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from email_validator import EmailNotValidError, validate_email

EMAIL_CANDIDATE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
CARD_CANDIDATE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
NAME_RUN = re.compile(r"\b[A-Z][a-zà-öø-ÿ'’-]+(?:\s+[A-Z][a-zà-öø-ÿ'’-]+){1,2}\b")


@dataclass(frozen=True)
class Finding:
    kind: str  # email, phone, card, order, name
    text: str
    start: int
    end: int

    @property
    def label(self) -> str:
        return KINDS[self.kind][0]

    @property
    def why(self) -> str:
        return KINDS[self.kind][1]


KINDS = {
    "email": ("Email address", "An email address in a public reply is seen by everyone: ask the customer to send "
                               "it by private message."),
    "phone": ("Phone number", "A phone number in a public reply is seen by everyone: offer to call or write by "
                              "private message instead."),
    "card": ("Card number", "A payment card number must never be posted (it passes the card checksum): remove it "
                            "and never ask for one in public."),
    "order": ("Order number", "An order or booking number identifies the customer's purchase: refer to "
                              "\"your booking\" and ask for details by private message."),
    "name": ("Another customer's name", "This is the name of another customer of ours: a public reply to this "
                                        "customer must not mention someone else."),
}


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def find_emails(text: str) -> list[Finding]:
    found = []
    for match in EMAIL_CANDIDATE.finditer(text):
        candidate = match.group(0).rstrip(".")
        try:
            validate_email(candidate, check_deliverability=False)
        except EmailNotValidError:
            continue
        found.append(Finding("email", candidate, match.start(), match.start() + len(candidate)))
    return found


def find_cards(text: str) -> list[Finding]:
    found = []
    for match in CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            found.append(Finding("card", match.group(0), match.start(), match.end()))
    return found


def find_phones(text: str, *, region: str | None = None) -> list[Finding]:
    region = region or settings.BATON_PHONE_REGION
    return [
        Finding("phone", match.raw_string, match.start, match.end)
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    ]


def find_orders(text: str, *, pattern: str | None = None) -> list[Finding]:
    pattern = pattern or settings.BATON_ORDER_NUMBER_PATTERN
    if not pattern:
        return []
    try:
        regex = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ImproperlyConfigured(f"BATON_ORDER_NUMBER_PATTERN is not a regular expression: {exc}") from exc
    return [Finding("order", match.group(0), match.start(), match.end())
            for match in regex.finditer(text) if match.group(0)]


def name_candidates(text: str) -> dict[str, tuple[int, int]]:
    """Runs of two or three capitalised words, and each two-word run inside a three-word one."""
    candidates: dict[str, tuple[int, int]] = {}
    for match in NAME_RUN.finditer(text):
        words = list(re.finditer(r"\S+", match.group(0)))
        for size in (3, 2):
            for first in range(len(words) - size + 1):
                start = match.start() + words[first].start()
                end = match.start() + words[first + size - 1].end()
                candidates.setdefault(text[start:end], (start, end))
    return candidates


def find_names(text: str, lookup: Callable[[Iterable[str]], set[str]]) -> list[Finding]:
    """`lookup(candidates)` returns the candidates (lower case) that are another customer's name."""
    candidates = name_candidates(text)
    if not candidates:
        return []
    known = lookup(candidates)
    found = [Finding("name", name, *span) for name, span in candidates.items() if name.lower() in known]
    # A three-word hit covers its two-word parts: report the longest.
    return [f for f in found if not any(o is not f and o.start <= f.start and f.end <= o.end for o in found)]


def scan(text: str, *, names: Callable[[Iterable[str]], set[str]] | None = None) -> list[Finding]:
    """Everything in `text` a public reply must not contain, in order of position."""
    findings = find_emails(text) + find_cards(text) + find_orders(text)
    # A card number is also a "phone number" to a lenient reader: keep the more specific finding.
    taken = [(f.start, f.end) for f in findings]
    findings += [f for f in find_phones(text) if not any(s < f.end and f.start < e for s, e in taken)]
    if names is not None:
        findings += find_names(text, names)
    return sorted(findings, key=lambda f: (f.start, f.kind))
