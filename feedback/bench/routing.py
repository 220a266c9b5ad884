"""bench routing: routing decisions per second with 50 rules (49 realistic ones and the default), one core."""

import random
import time
from decimal import Decimal

from django.db import transaction

from customers.models import Customer
from feedback.bench.common import sample_texts, stack
from feedback.choices import Intent, Priority, Source
from feedback.intake.models import Mention
from feedback.routing.models import RoutingRule
from feedback.routing.services import facts_for, load_rules, route
from teams.models import Department

RULES = 49

TOPICS = [
    "refund", "lost bag", "delayed", "cancelled", "wifi", "seat", "upgrade", "lounge", "miles", "check-in",
    "baggage fee", "crew", "pilot", "food", "legroom", "app crash", "website down", "overbooked", "pet", "wheelchair",
]


class _Rollback(Exception):
    pass


def add_arguments(parser):
    parser.add_argument("--n", type=int, default=20_000, help="Routing decisions to time (default 20000).")
    parser.add_argument("--seed", type=int, default=7, help="Random seed for the rules and mentions.")


def _seed_rules(rng: random.Random) -> None:
    """49 rules like a busy team writes them, before the default; the existing ones are set aside."""
    departments = list(Department.objects.all())
    RoutingRule.objects.filter(is_default=False).update(is_active=False)
    intents = [choice for choice, _ in Intent.choices if choice != Intent.SPAM_TROLL]
    for i in range(RULES):
        kind = i % 7
        fields = {
            0: {"intents": rng.sample(intents, 2), "sentiment_max": -0.5},
            1: {"keywords": "\n".join(rng.sample(TOPICS, 3))},
            2: {"intents": [Intent.COMPLAINT], "followers_min": rng.choice([5_000, 10_000, 50_000])},
            3: {"customer_stages": ["customer"], "customer_value_min": Decimal(rng.choice([1000, 5000, 20000]))},
            4: {"sources": [rng.choice([Source.REVIEW, Source.FACEBOOK])], "languages": ["en"],
                "keywords": rng.choice(TOPICS)},
            5: {"priorities": [Priority.URGENT, Priority.HIGH], "intents": [rng.choice(intents)]},
            6: {"is_complaint": True, "keywords": "\n".join(rng.sample(TOPICS, 5)), "sentiment_min": -1.0},
        }[kind]
        RoutingRule.objects.create(
            name=f"bench rule {i}", position=i + 1, department=rng.choice(departments),
            tags=["bench"] if i % 3 == 0 else [], priority_override=Priority.HIGH if i % 11 == 0 else "",
            **fields,
        )


def _mentions(rng: random.Random, n: int) -> list[tuple[Mention, object]]:
    texts = sample_texts()
    customers = [Customer(pk=i + 1, stage=rng.choice(["prospect", "lead", "customer", "former"]),
                          value=Decimal(rng.choice([0, 200, 3000, 8000, 25000]))) for i in range(200)]
    intents = [choice for choice, _ in Intent.choices]
    out = []
    for i in range(n):
        customer = customers[i % len(customers)]
        out.append((Mention(
            source=rng.choice([Source.X, Source.X, Source.FACEBOOK, Source.REVIEW]), external_id=f"bench-{i}",
            text=texts[i % len(texts)] + " " + rng.choice(TOPICS), intent=rng.choice(intents),
            sentiment=rng.uniform(-1, 1), author_followers=rng.choice([10, 300, 2_000, 20_000, 200_000]),
            is_complaint=rng.random() < 0.3, is_spam=rng.random() < 0.03, language=rng.choice(["en", "en", "fr"]),
            customer_id=customer.pk,
        ), customer))
    return out


def run(*, n: int, seed: int, out) -> dict:
    if n < 1:
        raise ValueError("--n must be at least 1")
    rng = random.Random(seed)
    out(f"bench routing: {n} decisions with {RULES} rules and the default, one core, {stack()}")
    result = {}
    try:
        # Everything the bench writes is rolled back: live workers never see its rules.
        with transaction.atomic():
            _seed_rules(rng)
            started = time.perf_counter()
            rules = load_rules()
            load_ms = (time.perf_counter() - started) * 1000
            count = len(rules.rules) + (rules.default is not None)
            out(f"  loaded and compiled {count} active rules in {load_ms:.1f} ms")
            mentions = _mentions(rng, n)
            matched: dict[str, int] = {}
            started = time.perf_counter()
            for mention, customer in mentions:
                decision = route(mention=mention, customer=customer, rules=rules)
                matched[decision.rule] = matched.get(decision.rule, 0) + 1
            elapsed = time.perf_counter() - started
            facts_started = time.perf_counter()
            facts = [facts_for(mention=mention, customer=customer) for mention, customer in mentions]
            facts_s = time.perf_counter() - facts_started
            started = time.perf_counter()
            for fact in facts:
                rules.first_match(fact)
            match_s = time.perf_counter() - started
            result = {
                "bench": "routing",
                "n": n,
                "rules": count,
                **stack(),
                "decisions_per_s": round(n / elapsed, 1),
                "match_only_per_s": round(n / match_s, 1),
                "facts_per_s": round(n / facts_s, 1),
                "load_ms": round(load_ms, 2),
                "default_share": round(matched.get(rules.default.name, 0) / n, 3) if rules.default else None,
                "rules_hit": len(matched),
            }
            out(f"  route(): {n / elapsed:,.0f} decisions/s ({elapsed:.2f} s); rule matching alone "
                f"{n / match_s:,.0f}/s; {len(matched)} different rules decided, default took "
                f"{result['default_share']:.1%}")
            raise _Rollback
    except _Rollback:
        pass
    return result
