"""bench matching: identity resolution (customers.matching) against a generated ground truth.

Seeds --customers CRM records (names drawn from Faker's English, French, German and Spanish name
lists, so many people share a name; a region, an email for 70%, a phone for 40%, one to three
channel handles), then resolves --mentions post authors in batches of --batch, as the pipeline
does, and compares each outcome with who wrote the post:

  handle     35%  a known handle (case and "@" varied)                         -> that customer
  email      10%  a new handle; the customer's email in the profile or the post -> that customer
  phone       5%  a new handle; the phone number in the post, national format  -> that customer
  cross      10%  the customer's handle on another channel, same display name  -> that customer
  fuzzy      15%  a new handle; the name with a typo, an initial, a middle name,
                  swapped, or exact; the region in the profile 75% of the time  -> that customer
  unknown    20%  a new person; 40% with the exact name of an existing customer -> nobody (a prospect)
  collision   5%  a new person with an existing handle on another channel and
                  another display name                                         -> nobody

suggestion_precision: of the authors left with suggestions, the share whose suggestions name them.
precision: of the authors linked automatically (a known identity or a new automatic link), the
share linked to the right customer (`precision_new_links`: the new automatic links only).
recall: of the authors who are existing customers, the share linked to them automatically or
with them among the suggestions. matches_per_s: authors resolved per second (queries and writes
included, one core). Everything is written in one transaction that is rolled back at the end.
"""

import os
import random
import time
import unicodedata
from collections import Counter, defaultdict

import phonenumbers
from django.db import connection, transaction
from django.utils import timezone
from faker.providers.person.de_DE import Provider as GermanNames
from faker.providers.person.en_US import Provider as EnglishNames
from faker.providers.person.es_ES import Provider as SpanishNames
from faker.providers.person.fr_FR import Provider as FrenchNames

from customers.matching import Author, Outcome, keys_for, name_keys, normalize_handle, resolve_authors
from customers.models import Customer, Identity, MatchKey, MatchSuggestion
from feedback.bench.common import stack, vacuum

REGIONS = [
    "London", "Manchester", "Paris", "Lyon", "Berlin", "Munich", "Madrid", "Barcelona", "New York", "Boston",
    "Chicago", "Seattle", "Austin", "Denver", "Miami", "Atlanta", "Dublin", "Amsterdam", "Brussels", "Lisbon",
    "Rome", "Milan", "Vienna", "Zurich", "Stockholm", "Oslo", "Copenhagen", "Helsinki", "Warsaw", "Prague",
    "Toronto", "Montreal", "Vancouver", "Sydney", "Melbourne", "Auckland", "Dallas", "Phoenix", "Portland", "Houston",
]
AREA_CODES = ["212", "415", "312", "617", "305", "206", "512", "303", "404", "702", "646", "718", "213", "310"]
DOMAINS = ["example.com", "mail.example.org", "inbox.example.net", "post.example.co.uk"]
CHANNELS = ["x", "instagram", "facebook"]
SCENARIOS = [("handle", 35), ("email", 10), ("phone", 5), ("cross", 10), ("fuzzy", 15), ("unknown", 20),
             ("collision", 5)]
KNOWN = {"handle", "email", "phone", "cross", "fuzzy"}
EXTERNAL_PREFIX = "bench-match:"


class _Rollback(Exception):
    pass


def add_arguments(parser):
    parser.add_argument("--customers", type=int, default=100_000, help="CRM records to seed (default 100000).")
    parser.add_argument("--mentions", type=int, default=20_000, help="Post authors to resolve (default 20000).")
    parser.add_argument("--batch", type=int, default=250, help="Authors per resolve call (the pipeline's batch).")
    parser.add_argument("--seed", type=int, default=11, help="Random seed.")


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if char.isascii() and char.isalpha()).lower()


def _names() -> tuple[list[str], list[str]]:
    firsts, lasts = set(), set()
    for provider in (EnglishNames, FrenchNames, GermanNames, SpanishNames):
        firsts |= {name for name in provider.first_names if " " not in name and len(name) > 1}
        lasts |= {name for name in provider.last_names if " " not in name and len(name) > 1}
    return sorted(firsts), sorted(lasts)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word + rng.choice("aeiou")
    position = rng.randrange(len(word))
    letters = "abcdefghijklmnopqrstuvwxyz"
    operation = rng.choice(["substitute", "delete", "insert", "transpose"])
    if operation == "substitute":
        return word[:position] + rng.choice(letters.replace(word[position].lower(), "")) + word[position + 1:]
    if operation == "delete":
        return word[:position] + word[position + 1:]
    if operation == "insert":
        return word[:position] + rng.choice(letters) + word[position:]
    position = min(position, len(word) - 2)
    return word[:position] + word[position + 1] + word[position] + word[position + 2:]


def _phone(rng: random.Random, used: set[str]) -> tuple[str, str]:
    """A valid US number, unique: (E.164, national format)."""
    while True:
        area, exchange, line = rng.choice(AREA_CODES), rng.randint(200, 989), rng.randint(1000, 9999)
        e164 = f"+1{area}{exchange}{line}"
        if e164 not in used and phonenumbers.is_valid_number(phonenumbers.parse(e164)):
            used.add(e164)
            return e164, f"({area}) {exchange}-{line}"


def _seed(rng: random.Random, n: int, out) -> list[dict]:
    """n customers with their handles, written by COPY with reserved ids. Returns them as dicts."""
    firsts, lasts = _names()
    people, used_phones = [], set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [Customer._meta.db_table, n])
        ids = [row[0] for row in cursor.fetchall()]
    for i, customer_id in enumerate(ids):
        first, last = rng.choice(firsts), rng.choice(lasts)
        middle = rng.choice(firsts) if rng.random() < 0.1 else ""
        name = " ".join(part for part in (first, middle, last) if part)
        email = f"{_ascii(first)}.{_ascii(last)}{i}@{rng.choice(DOMAINS)}" if rng.random() < 0.7 else ""
        phone, national = _phone(rng, used_phones) if rng.random() < 0.4 else ("", "")
        handles = {}
        for channel in CHANNELS:
            if rng.random() < {"x": 0.7, "instagram": 0.4, "facebook": 0.2}[channel] or (channel == "facebook" and not handles):
                handles[channel] = f"{_ascii(first)[:5]}{_ascii(last)[:6]}{i}"[:40] + ("" if channel == "x" else channel[0])
        display = name if rng.random() < 0.8 else first
        people.append({"id": customer_id, "name": name, "first": first, "middle": middle, "last": last,
                       "region": rng.choice(REGIONS), "email": email, "phone": phone, "national": national,
                       "handles": handles, "display": display})
    tables = {model: connection.ops.quote_name(model._meta.db_table) for model in (Customer, Identity, MatchKey)}
    started = time.perf_counter()
    now = timezone.now()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {tables[Customer]} (id, external_id, name, email, phone, stage, value, region, attributes, "
                      "created_at, updated_at) FROM STDIN") as copy:
            for person in people:
                copy.write_row((person["id"], f"{EXTERNAL_PREFIX}{person['id']}", person["name"], person["email"],
                                person["phone"], "customer", 0, person["region"], "{}", now, now))
        with raw.copy(f"COPY {tables[Identity]} (channel, handle, display_name, customer_id, method, confidence, "
                      "created_at) FROM STDIN") as copy:
            for person in people:
                for channel, handle in person["handles"].items():
                    copy.write_row((channel, handle, person["display"], person["id"], "handle", 1.0, now))
        with raw.copy(f"COPY {tables[MatchKey]} (customer_id, key) FROM STDIN") as copy:
            for person in people:
                keys = keys_for(name=person["name"], email=person["email"], phone=person["phone"])
                keys |= name_keys(person["display"])
                for key in keys:
                    copy.write_row((person["id"], key))
        for model in (Customer, Identity, MatchKey):
            cursor.execute(f"ANALYZE {tables[model]}")
    out(f"  seeded {n:,} customers, their handles and match keys in {time.perf_counter() - started:.1f} s")
    return people


def _authors(rng: random.Random, people: list[dict], m: int) -> list[tuple[Author, int | None, str]]:
    """m (author, expected customer id or None, scenario) triples."""
    firsts, lasts = _names()
    names, weights = zip(*SCENARIOS, strict=True)
    with_email = [person for person in people if person["email"]]
    with_phone = [person for person in people if person["phone"]]
    crossable = [person for person in people if len(person["handles"]) < len(CHANNELS) and person["display"] == person["name"]]
    out = []
    taken_accounts: set[tuple[str, str]] = set()  # (channel, handle) already used by a generated author
    for j in range(m):
        scenario = rng.choices(names, weights)[0]
        new_handle = f"bm{j}new{rng.randrange(10**6)}"
        channel = rng.choice(CHANNELS)
        if scenario == "handle":
            person = rng.choice(people)
            channel, handle = rng.choice(sorted(person["handles"].items()))
            handle = rng.choice([handle, f"@{handle}", handle.upper(), f" @{handle.capitalize()}"])
            out.append((Author(channel=channel, handle=handle, name=person["display"], text="my bag is lost again"),
                        person["id"], scenario))
        elif scenario == "email":
            person = rng.choice(with_email)
            written = rng.choice([person["email"], person["email"].upper(), person["email"].capitalize()])
            if rng.random() < 0.5:
                author = Author(channel=channel, handle=new_handle, name=person["first"], text="where is my refund?",
                                profile={"email": written})
            else:
                author = Author(channel=channel, handle=new_handle, name=person["first"],
                                text=f"Still no refund. Write to me at {written}.")
            out.append((author, person["id"], scenario))
        elif scenario == "phone":
            person = rng.choice(with_phone)
            written = rng.choice([person["national"], f"+1 {person['national']}", person["phone"]])
            out.append((Author(channel=channel, handle=new_handle, name=person["first"],
                               text=f"Call me back on {written}, nobody answers"), person["id"], scenario))
        elif scenario == "cross":
            while True:  # one account per (channel, handle): never two people on the same one
                person = rng.choice(crossable)
                handle = next(iter(person["handles"].values()))
                channel = next(channel for channel in CHANNELS if channel not in person["handles"])
                if (channel, handle) not in taken_accounts:
                    break
            taken_accounts.add((channel, handle))
            shown = rng.choice([person["name"], person["name"].upper(), _ascii_name(person["name"])])
            out.append((Author(channel=channel, handle=handle, name=shown, text="same problem here"), person["id"],
                        scenario))
        elif scenario == "fuzzy":
            person = rng.choice(people)
            first, last = person["first"], person["last"]
            variant = rng.random()
            if variant < 0.45:
                if rng.random() < 0.5:
                    first = _typo(rng, first)
                else:
                    last = _typo(rng, last)
                shown = f"{first} {last}"
            elif variant < 0.60:
                shown = f"{first[0]}. {last}"
            elif variant < 0.75:
                shown = f"{first} {rng.choice(firsts)} {last}"
            elif variant < 0.85:
                shown = f"{last} {first}"
            else:
                shown = person["name"]
            profile = {"location": rng.choice([person["region"], f"{person['region']}, somewhere"])} if rng.random() < 0.75 else {}
            out.append((Author(channel=channel, handle=new_handle, name=shown, text="the flight was cancelled",
                               profile=profile), person["id"], scenario))
        elif scenario == "unknown":
            shown = rng.choice(people)["name"] if rng.random() < 0.4 else f"{rng.choice(firsts)} {rng.choice(lasts)}"
            out.append((Author(channel=channel, handle=new_handle, name=shown, text="first time flying with you",
                               profile={"location": rng.choice(REGIONS)}), None, scenario))
        else:
            while True:
                person = rng.choice(people)
                taken, handle = rng.choice(sorted(person["handles"].items()))
                channel = rng.choice([channel for channel in CHANNELS if channel != taken])
                if (channel, handle) not in taken_accounts:
                    break
            taken_accounts.add((channel, handle))
            if channel in person["handles"]:
                out.append((Author(channel=channel, handle=f"{new_handle}c", name="Someone Else"), None, scenario))
            else:
                shown = f"{rng.choice(firsts)} {rng.choice(lasts)}"
                out.append((Author(channel=channel, handle=handle, name=shown, text="hello"), None, scenario))
    return out


def _ascii_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def run(*, customers: int, mentions: int, batch: int, seed: int, out) -> dict:
    if customers < 100 or mentions < 1 or batch < 1:
        raise ValueError("--customers must be at least 100, --mentions and --batch at least 1")
    if connection.vendor != "postgresql":
        raise ValueError("bench matching needs PostgreSQL (it seeds with COPY)")
    rng = random.Random(seed)
    out(f"bench matching: {customers:,} customers, {mentions:,} authors in batches of {batch}, {stack()}")
    result: dict = {}
    try:
        with transaction.atomic():
            people = _seed(rng, customers, out)
            authors = _authors(rng, people, mentions)
            outcomes = []
            seconds = cpu = 0.0
            step = max(1, len(authors) // batch // 5)
            for number, start in enumerate(range(0, len(authors), batch)):
                chunk = authors[start:start + batch]
                began, began_cpu = time.perf_counter(), time.process_time()
                resolved = resolve_authors(authors=[author for author, _, _ in chunk])
                seconds += time.perf_counter() - began
                cpu += time.process_time() - began_cpu
                for author, expected, scenario in chunk:
                    key = (author.channel, normalize_handle(author.handle))
                    outcomes.append((resolved[key], expected, scenario))
                if number % step == 0:
                    out(f"  {start + len(chunk):,} authors resolved, {(start + len(chunk)) / seconds:,.0f}/s so far")
            result = _score(outcomes, seconds=seconds)
            # This process's CPU only (PostgreSQL's is not in it): read with the load average, since
            # the wall-clock rate on a shared machine follows the other processes' load.
            result["client_cpu_ms_per_match"] = round(cpu * 1000 / len(outcomes), 3)
            result["load_average"] = round(os.getloadavg()[0], 2)
            result.update({"customers": customers, "mentions": mentions, "batch": batch,
                           "suggestions_written": MatchSuggestion.objects.count()})
            raise _Rollback
    except _Rollback:
        pass
    vacuum((Customer, Identity, MatchKey, MatchSuggestion))
    for name, figures in result["by_scenario"].items():
        out(f"  {name:<10} {figures['n']:>6,}  auto right {figures['auto_right']:>6,}  auto wrong "
            f"{figures['auto_wrong']:>4,}  suggested right {figures['suggested_right']:>5,}  missed {figures['missed']:>5,}")
    out(f"  {result['matches_per_s']:,.0f} matches/s wall clock at load {result['load_average']} "
        f"({result['client_cpu_ms_per_match']} ms of this process's CPU per match); precision of automatic links {result['precision']:.4f} "
        f"(new links only {result['precision_new_links']:.4f}); recall with suggestions {result['recall']:.4f} "
        f"(automatic only {result['recall_auto']:.4f})")
    return {"bench": "matching", **result, **stack()}


def _score(outcomes, *, seconds: float) -> dict:
    by_scenario: dict[str, Counter] = defaultdict(Counter)
    auto = auto_right = new_links = new_links_right = known = found = found_auto = 0
    suggestions = useful_suggestions = 0
    kinds = Counter()
    for resolution, expected, scenario in outcomes:
        counts = by_scenario[scenario]
        counts["n"] += 1
        kinds[resolution.outcome] += 1
        is_auto = resolution.outcome in (Outcome.LINKED, Outcome.AUTO)
        right = is_auto and expected is not None and resolution.customer.pk == expected
        if is_auto:  # a new person linked to any existing record is a wrong link
            auto += 1
            auto_right += right
            if resolution.outcome == Outcome.AUTO:
                new_links += 1
                new_links_right += right
            counts["auto_right" if right else "auto_wrong"] += 1
        suggested = expected is not None and any(cid == expected for cid, _ in resolution.candidates)
        if resolution.outcome == Outcome.SUGGESTED:
            suggestions += 1
            useful_suggestions += suggested
        if expected is not None:
            known += 1
            found += right or suggested
            found_auto += right
            if suggested and not right:
                counts["suggested_right"] += 1
            if not right and not suggested:
                counts["missed"] += 1
    return {
        "matches_per_s": round(len(outcomes) / seconds, 1) if seconds else 0.0,
        "precision": round(auto_right / auto, 4) if auto else 1.0,
        "precision_new_links": round(new_links_right / new_links, 4) if new_links else 1.0,
        "recall": round(found / known, 4) if known else 1.0,
        "recall_auto": round(found_auto / known, 4) if known else 1.0,
        # Of the authors left as suggestions, the share whose suggestions name the right person (the
        # rest are strangers who share a name: an agent rejects those).
        "suggestion_precision": round(useful_suggestions / suggestions, 4) if suggestions else 1.0,
        "seconds": round(seconds, 2),
        "outcomes": dict(kinds),
        "by_scenario": {name: {key: counts.get(key, 0) for key in ("n", "auto_right", "auto_wrong", "suggested_right",
                                                                  "missed")}
                        for name, counts in sorted(by_scenario.items())},
    }
