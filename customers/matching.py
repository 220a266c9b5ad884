"""Identity resolution: which customer wrote this post?

A cascade, cheapest and surest first; each step records its method and confidence on the identity
(or on the suggestion) it writes:

1. **handle**: the (channel, handle) is already an identity -> its customer (confidence as stored).
2. **email / phone**: an address or number in the author's profile (`raw["author"]`: email, phone,
   description) or in the post, normalised (`email-validator`, `phonenumbers` E.164), equals a
   customer's -> 0.98 / 0.95. Two customers sharing it -> a suggestion for each.
3. **cross_channel**: the same handle is linked on another channel and shows the same display
   name -> 0.92.
4. **fuzzy_name**: name blocking keys (below) find a few candidates through the `MatchKey` index;
   rapidfuzz scores the names, the region agrees or not, a near tie (a shared name) lowers it.
   At most `FUZZY_CAP` (0.88): by default a name alone never links automatically, because two
   people can share a name and a region; it becomes a suggestion an agent confirms.

Above `BATON_MATCH_AUTO` (0.9) the author is linked (a new identity on that customer); between
`BATON_MATCH_SUGGEST` (0.6) and it, the author becomes a prospect with `MatchSuggestion`s to the
candidates (up to three); below, a prospect. Never a scan of all customers: every step is an index
lookup (`Identity (channel, handle)`, `Identity (handle)`, `MatchKey (key)`), and a batch of
authors costs the same handful of queries whatever its size.

Name blocking keys: the first and last name tokens (a, b) give four keys, the prefixes
`a[:3]|b[:3]` and suffixes `~a[-3:]|b[-3:]` (each pair sorted), `a|b[0]` and `b|a[0]`, so one typo
in either token of five letters or more (even in its first letter) leaves at least one key intact,
an initial ("D. Kowalski") still meets `kowalski|d`, and the keys do not depend on the order of
the tokens ("Kowalski Dana").
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from email_validator import EmailNotValidError, validate_email
from rapidfuzz import fuzz

from . import bulk
from .models import Customer, Identity, LinkMethod, MatchKey, MatchSuggestion, Stage, SuggestionStatus

EMAIL_CONFIDENCE = 0.98
PHONE_CONFIDENCE = 0.95
CROSS_CHANNEL_CONFIDENCE = 0.92
SHARED_CONTACT_CONFIDENCE = 0.7  # one address or number on two customers: ask a person
FUZZY_CAP = 0.88
FUZZY_MIN_SIMILARITY = 0.8  # names less alike than this are not candidates at all
REGION_SAME, REGION_UNKNOWN, REGION_OTHER = 1.0, 0.92, 0.7
NEAR_TIE = 0.02  # a second candidate this close to the best one: a shared name
TIE_FACTOR = 0.85
MAX_SUGGESTIONS = 3

HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam", "mx"})
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_HINT_RE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


class Outcome:
    LINKED = "linked"  # an identity already existed
    AUTO = "auto"  # a new identity on an existing customer
    SUGGESTED = "suggested"  # a prospect, with suggestions
    PROSPECT = "prospect"  # a prospect


@dataclass(frozen=True)
class Author:
    """A post's author as the matcher reads it. `profile`: the platform's author object (the
    `raw["author"]` intake keeps: location, description, and email or phone where given)."""

    channel: str
    handle: str
    name: str = ""
    text: str = ""
    profile: dict | None = None

    @property
    def region(self) -> str:
        profile = self.profile or {}
        for key in ("region", "location", "country"):
            value = profile.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return ""


@dataclass
class Resolution:
    customer: Customer
    method: str
    confidence: float
    outcome: str
    candidates: list[tuple[int, float]] = field(default_factory=list)  # suggestions: (customer id, confidence)


# --- Normalising ------------------------------------------------------------------------------


def normalize_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


_NAME_SEPARATORS = re.compile(r"[^\w]+|_|\d")


@lru_cache(maxsize=200_000)
def normalize_name(name: str) -> str:
    """Lower case, accents off, punctuation to spaces, honorifics dropped: "Dr. Zoë O'Neil" -> "zoe o neil"."""
    if (name or "").isascii():  # NFKD changes no ASCII text, and it has no combining marks
        plain = (name or "").lower()
    else:
        decomposed = unicodedata.normalize("NFKD", name)
        plain = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    words = _NAME_SEPARATORS.sub(" ", plain).split()
    return " ".join(word for word in words if word not in HONORIFICS)


_PLAIN_EMAIL_RE = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+")


@lru_cache(maxsize=100_000)  # a re-sync sends the same addresses again; the validator is the slow part
def normalize_email(value: str) -> str | None:
    """The address lower-cased, if valid. A plain ASCII address is taken as written (email-validator
    would only lower its domain, and a key can only ever meet the same string); others go through
    email-validator (internationalised addresses, quoting, ...)."""
    plain = value.strip().lower()
    if _PLAIN_EMAIL_RE.fullmatch(plain) and ".." not in plain and not plain.startswith("."):
        return plain
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except (EmailNotValidError, ValueError):
        return None


def normalize_phone(value: str, *, region: str | None = None) -> str | None:
    return _normalize_phone(value, region or settings.BATON_PHONE_REGION)


@lru_cache(maxsize=100_000)
def _normalize_phone(value: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def emails_in(text: str) -> set[str]:
    found = set()
    for candidate in _EMAIL_RE.findall(text or ""):
        normalised = normalize_email(candidate.rstrip("."))
        if normalised:
            found.add(normalised)
    return found


def phones_in(text: str) -> set[str]:
    if not text or not _PHONE_HINT_RE.search(text):  # most posts have no number: skip the parser
        return set()
    return {
        phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        for match in phonenumbers.PhoneNumberMatcher(text, settings.BATON_PHONE_REGION)
    }


def contacts_of(author: Author) -> tuple[set[str], set[str]]:
    """Emails and phones (normalised) in the author's profile and post."""
    profile = author.profile or {}
    emails, phones = emails_in(author.text), phones_in(author.text)
    for key in ("email", "description", "bio"):
        if isinstance(profile.get(key), str):
            emails |= emails_in(profile[key])
    for key in ("phone", "description", "bio"):
        value = profile.get(key)
        if isinstance(value, str):
            phones |= phones_in(value)
            if key == "phone" and (number := normalize_phone(value)):
                phones.add(number)
    return emails, phones


# --- Keys --------------------------------------------------------------------------------------


def _name_tokens(name: str) -> list[str]:
    return normalize_name(name).split()


def _pair_keys(first: str, last: str) -> set[str]:
    """Four keys that do not depend on the order of the two tokens ("Kowalski Dana" has the keys
    of "Dana Kowalski"), so an author's name needs only its own four."""
    return {
        "name:" + "|".join(sorted((first[:3], last[:3]))),
        f"name:{first}|{last[0]}",
        f"name:{last}|{first[0]}",
        "name:~" + "|".join(sorted((first[-3:], last[-3:]))),
    }


def name_keys(name: str) -> set[str]:
    """The blocking keys of a name, the same whichever order its first and last tokens come in."""
    tokens = _name_tokens(name)
    if not tokens:
        return set()
    if len(tokens) == 1:
        return {f"name:{tokens[0]}"}
    return _pair_keys(tokens[0], tokens[-1])


def keys_for(*, name: str = "", email: str = "", phone: str = "", extra_emails: Iterable[str] = (),
             extra_phones: Iterable[str] = ()) -> set[str]:
    """Every `MatchKey` of a customer with these fields."""
    keys = set(name_keys(name))
    for value in [email, *extra_emails]:
        if value and (normalised := normalize_email(value)):
            keys.add(f"email:{normalised}")
    for value in [phone, *extra_phones]:
        if value and (normalised := normalize_phone(value)):
            keys.add(f"phone:{normalised}")
    return keys


def _fields_keys(*, name: str = "", email: str = "", phone: str = "", attributes: Any = None) -> set[str]:
    attributes = attributes if isinstance(attributes, dict) else {}
    extra_emails = [value for value in attributes.get("emails", []) or [] if isinstance(value, str)]
    extra_phones = [value for value in attributes.get("phones", []) or [] if isinstance(value, str)]
    return keys_for(name=name, email=email, phone=phone, extra_emails=extra_emails, extra_phones=extra_phones)


def _customer_keys(customer: Customer) -> set[str]:
    return _fields_keys(name=customer.name, email=customer.email, phone=customer.phone,
                        attributes=customer.attributes)


def add_keys(*, customers: Iterable[tuple[int, Mapping[str, Any]]]) -> int:
    """The match keys of customers just created (no keys nor identities yet), from their fields in hand:
    (id, fields) pairs, fields naming name, email, phone and attributes (absent: blank). No read, and one
    COPY on PostgreSQL (nothing can conflict: the customers are new); the CRM upsert's path. Returns how many
    keys were written."""
    rows = [(pk, key) for pk, fields in customers for key in sorted(_fields_keys(
        name=fields.get("name", ""), email=fields.get("email", ""), phone=fields.get("phone", ""),
        attributes=fields.get("attributes")))]
    if connection.vendor == "postgresql" and len(rows) >= bulk.COPY_MIN_ROWS:
        bulk.copy_rows(MatchKey, ["customer_id", "key"], rows)
    else:
        _insert_ignore(MatchKey, ["customer_id", "key"], ["bigint", "varchar"], rows)
    return len(rows)


def refresh_keys(*, customer_ids: Iterable[int]) -> int:
    """Rebuild the match keys of these customers from their fields (name, email, phone, and
    `attributes` "emails"/"phones" lists) and the display names of their identities. Call it after writing those fields (CRM upsert, admin,
    merge, erasure). Merged and erased records keep no keys. Returns how many keys were written."""
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    MatchKey.objects.filter(customer_id__in=ids).delete()
    shown: dict[int, set[str]] = {}  # the names the person showed on their channels find them too
    for customer_id, display in Identity.objects.filter(customer_id__in=ids).exclude(display_name="").values_list(
        "customer_id", "display_name"
    ):
        shown.setdefault(customer_id, set()).add(display)
    rows = []
    for customer in Customer.objects.filter(pk__in=ids, merged_into__isnull=True, erased_at__isnull=True).only(
        "id", "name", "email", "phone", "attributes"
    ):
        keys = _customer_keys(customer)
        for display in shown.get(customer.pk, ()):
            keys |= name_keys(display)
        rows += [(customer.pk, key) for key in sorted(keys)]
    _insert_ignore(MatchKey, ["customer_id", "key"], ["bigint", "varchar"], rows)
    return len(rows)


# --- Scoring -----------------------------------------------------------------------------------


def name_similarity(a: str, b: str) -> float:
    """In [0, 1]: token order does not matter; a middle name or an initial costs a little."""
    a, b = normalize_name(a), normalize_name(b)
    if not a or not b:
        return 0.0
    # As written and with the words sorted (a typo in a first letter can change the sorted order).
    score = max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))
    ta, tb = a.split(), b.split()
    if len(ta) > 1 and len(tb) > 1:
        if len(ta) > 2 or len(tb) > 2:  # a middle name on one side
            score = max(score, 0.97 * fuzz.token_sort_ratio(f"{ta[0]} {ta[-1]}", f"{tb[0]} {tb[-1]}"))
        if (len(ta[0]) == 1 or len(tb[0]) == 1) and ta[0][0] == tb[0][0]:  # an initial: "D. Kowalski"
            score = max(score, 0.9 * fuzz.ratio(ta[-1], tb[-1]))
    return score / 100


def region_factor(customer_region: str, author_region: str) -> float:
    customer_region, author_region = normalize_name(customer_region), normalize_name(author_region)
    if not customer_region or not author_region:
        return REGION_UNKNOWN
    if f" {customer_region} " in f" {author_region} " or f" {author_region} " in f" {customer_region} ":
        return REGION_SAME
    return REGION_OTHER


def fuzzy_candidates(*, author: Author, candidates: Iterable[tuple[int, str, str, bool]]) -> list[tuple[int, float]]:
    """(customer id, confidence) for the author's name against candidate (id, name, region,
    is a prospect) rows, best first, only those with names at least FUZZY_MIN_SIMILARITY alike.

    A near tie with another candidate as alike (a shared name) lowers the confidence; a prospect
    does not make a CRM record ambiguous (it is most likely that person seen before on a channel)."""
    scored = {}
    for customer_id, name, region, prospect in candidates:
        similarity = name_similarity(author.name, name)
        if similarity >= FUZZY_MIN_SIMILARITY:
            scored[customer_id] = (similarity, region_factor(region, author.region), prospect)
    if not scored:
        return []
    out = []
    for customer_id, (similarity, region, prospect) in scored.items():
        tie = any(other != customer_id and abs(other_similarity - similarity) <= NEAR_TIE and other_region >= region
                  and (prospect or not other_prospect)
                  for other, (other_similarity, other_region, other_prospect) in scored.items())
        out.append((customer_id, round(FUZZY_CAP * similarity * region * (TIE_FACTOR if tie else 1.0), 4)))
    return sorted(out, key=lambda item: (-item[1], item[0]))


# --- The cascade -------------------------------------------------------------------------------


def _thresholds() -> tuple[float, float]:
    return settings.BATON_MATCH_AUTO, settings.BATON_MATCH_SUGGEST


def _identities(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str, float]]:
    """(customer id, method, confidence) of the identities with these (channel, handle) keys: one
    lookup of the unique index."""
    keys = list(keys)
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.channel, i.handle, i.customer_id, i.method, i.confidence "
                f"FROM {connection.ops.quote_name(Identity._meta.db_table)} i "
                "JOIN unnest(%s::varchar[], %s::varchar[]) AS k(channel, handle) "
                "ON i.channel = k.channel AND i.handle = k.handle",
                [[channel for channel, _ in keys], [handle for _, handle in keys]],
            )
            found = cursor.fetchall()
    else:
        by_channel: dict[str, list[str]] = {}
        for channel, handle in keys:
            by_channel.setdefault(channel, []).append(handle)
        query = Q()
        for channel, handles in by_channel.items():
            query |= Q(channel=channel, handle__in=handles)
        found = Identity.objects.filter(query).values_list("channel", "handle", "customer_id", "method", "confidence")
    return {(channel, handle): (customer_id, method, confidence)
            for channel, handle, customer_id, method, confidence in found}


@dataclass
class _Pending:
    author: Author
    key: tuple[str, str]
    emails: set[str]
    phones: set[str]
    name_keys: set[str]
    decision: tuple[int, str, float] | None = None  # (customer id, method, confidence) to link
    shared: list[tuple[int, str, float]] = field(default_factory=list)  # contacts not sure enough
    suggestions: list[tuple[int, str, float]] = field(default_factory=list)


def _decide_contact(pending: _Pending, *, by_key: dict[str, set[int]], cross: dict[str, list[tuple[str, str, int]]],
                    auto: float) -> None:
    """Steps 2 and 3: an email or phone, the same handle and name on another channel."""
    contact = [(f"email:{value}", LinkMethod.EMAIL, EMAIL_CONFIDENCE) for value in sorted(pending.emails)]
    contact += [(f"phone:{value}", LinkMethod.PHONE, PHONE_CONFIDENCE) for value in sorted(pending.phones)]
    for key, method, confidence in contact:
        owners = by_key.get(key, set())
        if len(owners) == 1 and confidence >= auto:
            pending.decision = (next(iter(owners)), method, confidence)
            return
        pending.shared += [(owner, method, confidence if len(owners) == 1 else SHARED_CONTACT_CONFIDENCE)
                           for owner in sorted(owners)]
    wanted = normalize_name(pending.author.name)
    if wanted:
        owners = {customer_id for channel, display, customer_id in cross.get(pending.key[1], [])
                  if channel != pending.key[0] and normalize_name(display) == wanted}
        if len(owners) == 1 and CROSS_CHANNEL_CONFIDENCE >= auto:
            pending.decision = (owners.pop(), LinkMethod.CROSS_CHANNEL, CROSS_CHANNEL_CONFIDENCE)
            return
        pending.shared += [(owner, LinkMethod.CROSS_CHANNEL, SHARED_CONTACT_CONFIDENCE) for owner in sorted(owners)]


def _decide_name(pending: _Pending, *, by_key: dict[str, set[int]], rows: dict[int, tuple[str, str, bool]],
                 auto: float, suggest: float) -> None:
    """Step 4, the fuzzy name, then the suggestions of every step that was not sure enough."""
    candidate_ids = set().union(*(by_key.get(key, set()) for key in pending.name_keys)) if pending.name_keys else set()
    fuzzy = fuzzy_candidates(author=pending.author,
                             candidates=[(cid, *rows[cid]) for cid in candidate_ids if cid in rows])
    if fuzzy and fuzzy[0][1] >= auto:
        pending.decision = (fuzzy[0][0], LinkMethod.FUZZY_NAME, fuzzy[0][1])
        return
    best: dict[int, tuple[int, str, float]] = {}
    for customer_id, method, confidence in [*pending.shared, *((cid, LinkMethod.FUZZY_NAME, c) for cid, c in fuzzy)]:
        if confidence >= suggest and confidence > best.get(customer_id, (0, "", -1.0))[2]:
            best[customer_id] = (customer_id, method, confidence)
    pending.suggestions = sorted(best.values(), key=lambda item: (-item[2], item[0]))[:MAX_SUGGESTIONS]


def _lookup(keys: set[str]) -> tuple[dict[str, set[int]], dict[int, tuple[str, str, bool]]]:
    """One query: the live customers behind these keys, with what fuzzy scoring needs of them."""
    by_key: dict[str, set[int]] = {}
    rows: dict[int, tuple[str, str, bool]] = {}
    if not keys:
        return by_key, rows
    # Two index lookups, keys then customers by primary key: joined in one query, PostgreSQL's
    # planner picks a hash join over a scan of every customer once the batch has a few thousand keys.
    if connection.vendor == "postgresql":  # one array parameter instead of thousands
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT key, customer_id FROM {quote(MatchKey._meta.db_table)} WHERE key = ANY(%s)",
                           [list(keys)])
            pairs = cursor.fetchall()
            cursor.execute(
                f"SELECT id, name, region, stage FROM {quote(Customer._meta.db_table)} "
                "WHERE id = ANY(%s) AND merged_into_id IS NULL AND erased_at IS NULL",
                [sorted({customer_id for _, customer_id in pairs})],
            )
            live = {customer_id: (name, region, stage) for customer_id, name, region, stage in cursor.fetchall()}
    else:
        pairs = list(MatchKey.objects.filter(key__in=keys).values_list("key", "customer_id"))
        live = {customer_id: (name, region, stage) for customer_id, name, region, stage in Customer.objects.filter(
            pk__in={customer_id for _, customer_id in pairs}, merged_into__isnull=True, erased_at__isnull=True,
        ).values_list("pk", "name", "region", "stage")}
    found = [(key, customer_id, *live[customer_id]) for key, customer_id in pairs if customer_id in live]
    for key, customer_id, name, region, stage in found:
        by_key.setdefault(key, set()).add(customer_id)
        rows[customer_id] = (name, region, stage == Stage.PROSPECT)
    return by_key, rows


def prospect_external_id(channel: str, handle: str) -> str:
    return f"baton:{channel}:{handle}"


def resolve_authors(*, authors: Iterable[Author]) -> dict[tuple[str, str], Resolution]:
    """Resolve a batch of authors; keyed by (channel, normalised handle). Empty handles are left out.

    A handful of queries per batch whatever its size. Safe under concurrency: every insert skips
    conflicts and the identities are read back, so two workers resolving one new handle agree.
    """
    auto, suggest = _thresholds()
    unique: dict[tuple[str, str], Author] = {}
    for author in authors:
        handle = normalize_handle(author.handle)
        if handle:
            unique.setdefault((author.channel, handle), author)
    if not unique:
        return {}
    existing = _identities(unique)
    found = {key: (*link, Outcome.LINKED, []) for key, link in existing.items()}
    pending = []
    for key, author in unique.items():
        if key in existing:
            continue
        emails, phones = contacts_of(author)
        pending.append(_Pending(author=author, key=key, emails=emails, phones=phones,
                                name_keys=name_keys(author.name)))
    if not pending:
        return _resolutions(found)

    # Steps 2 and 3: one query for the batch's emails and phones, one for its handles on other channels.
    contact_keys = set()
    for item in pending:
        contact_keys |= {f"email:{value}" for value in item.emails} | {f"phone:{value}" for value in item.phones}
    by_key, _ = _lookup(contact_keys)
    cross: dict[str, list[tuple[str, str, int]]] = {}
    named = {item.key[1] for item in pending if item.author.name.strip()}
    if named:
        for channel, handle, display, customer_id in Identity.objects.filter(handle__in=named).values_list(
            "channel", "handle", "display_name", "customer_id"
        ):
            cross.setdefault(handle, []).append((channel, display, customer_id))
    for item in pending:
        _decide_contact(item, by_key=by_key, cross=cross, auto=auto)
    # Step 4: one query for the name keys of the authors still undecided.
    undecided = [item for item in pending if item.decision is None]
    by_key, rows = _lookup(set().union(*(item.name_keys for item in undecided)) if undecided else set())
    for item in undecided:
        _decide_name(item, by_key=by_key, rows=rows, auto=auto, suggest=suggest)
    _write(pending)

    # Read back what is stored: another worker may have linked one of these handles meanwhile.
    stored = _identities(item.key for item in pending)
    for item in pending:
        customer_id, method, confidence = stored[item.key]
        if item.decision is not None and customer_id == item.decision[0]:
            outcome = Outcome.AUTO
        elif item.suggestions:
            outcome = Outcome.SUGGESTED
        else:
            outcome = Outcome.PROSPECT
        found[item.key] = (customer_id, method, confidence, outcome,
                           [(cid, score) for cid, _, score in item.suggestions])
    return _resolutions(found)


def _resolutions(found: dict[tuple[str, str], tuple]) -> dict[tuple[str, str], Resolution]:
    """The resolutions, with their customers loaded in one query."""
    customers = Customer.objects.in_bulk({customer_id for customer_id, *_ in found.values()})
    return {key: Resolution(customer=customers[customer_id], method=method, confidence=confidence, outcome=outcome,
                            candidates=candidates)
            for key, (customer_id, method, confidence, outcome, candidates) in found.items()}


def _insert_ignore(model, columns: list[str], types: list[str], rows: list[tuple]) -> None:
    """INSERT rows, skipping conflicts. On PostgreSQL one statement over arrays (no model instances:
    most of the ORM's cost on a batch); elsewhere bulk_create."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        arrays = ", ".join(f"%s::{kind}[]" for kind in types)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
                f"SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING",
                [list(column) for column in zip(*rows, strict=True)],
            )
        return
    model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], ignore_conflicts=True)


def _write(pending: list[_Pending]) -> None:
    now = timezone.now()
    new = [item for item in pending if item.decision is None]
    prospects: dict[str, int] = {}
    if new:
        external_ids = {item.key: prospect_external_id(*item.key) for item in new}
        _insert_ignore(
            Customer,
            ["external_id", "name", "email", "phone", "stage", "value", "region", "attributes", "created_at",
             "updated_at"],
            ["varchar", "varchar", "varchar", "varchar", "varchar", "numeric", "varchar", "jsonb", "timestamptz",
             "timestamptz"],
            [(external_ids[item.key], (item.author.name.strip() or f"@{item.key[1]}")[:200],
              min(item.emails) if item.emails else "", min(item.phones) if item.phones else "", Stage.PROSPECT,
              Decimal(0), item.author.region[:80], "{}" if connection.vendor == "postgresql" else {}, now, now)
             for item in new],
        )
        # customer.created for these prospects: the pipeline emits it (feedback.pipeline), from the outcomes.
        prospects = dict(Customer.objects.filter(external_id__in=external_ids.values()).values_list("external_id", "pk"))
        _insert_ignore(MatchKey, ["customer_id", "key"], ["bigint", "varchar"], [
            (prospects[external_ids[item.key]], key)
            for item in new
            for key in sorted(name_keys(item.author.name) | {f"email:{value}" for value in item.emails}
                              | {f"phone:{value}" for value in item.phones})
        ])
    identities = []
    suggestions = []
    for item in pending:
        channel, handle = item.key
        display = item.author.name.strip()[:200]
        if item.decision is not None:
            customer_id, method, confidence = item.decision
            identities.append((channel, handle, display, customer_id, method, confidence, now))
            continue
        prospect_id = prospects[prospect_external_id(channel, handle)]
        identities.append((channel, handle, display, prospect_id, LinkMethod.HANDLE, 1.0, now))
        suggestions += [
            (prospect_id, customer_id, channel, handle, method, confidence, SuggestionStatus.PENDING, now)
            for customer_id, method, confidence in item.suggestions if customer_id != prospect_id
        ]
    _insert_ignore(Identity, ["channel", "handle", "display_name", "customer_id", "method", "confidence", "created_at"],
                   ["varchar", "varchar", "varchar", "bigint", "varchar", "float8", "timestamptz"], identities)
    _insert_ignore(MatchSuggestion, ["prospect_id", "candidate_id", "channel", "handle", "method", "confidence",
                                     "status", "created_at"],
                   ["bigint", "bigint", "varchar", "varchar", "varchar", "float8", "varchar", "timestamptz"], suggestions)
