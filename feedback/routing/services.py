"""Routing: which department gets a mention, with which priority, by which rule.

Rules are data (`RoutingRule`, edited by department heads). `load_rules` compiles the active
ones once per batch (two queries) into plain Python objects: sets for "any of" conditions, one
precompiled regex for the keywords. `route` is the pipeline's entry point: it evaluates the rules
in order, cheapest conditions first, and the first match wins; the default rule catches the rest.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from django.db import transaction

from config.errors import BatonError, NotAllowed
from feedback.choices import Intent, Priority
from feedback.defaults import create_routing_rules
from feedback.intake.models import Mention
from feedback.routing.models import RoutingRule
from teams.models import Department

DEFAULT_DEPARTMENT = "marketing"  # only if the default rule is missing: the social team owns the rest

PRIORITY_STEPS = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
HIGH_REACH_FOLLOWERS = 10_000
HIGH_VALUE_CUSTOMER = Decimal("5000")


class RoutingError(BatonError):
    code = "routing_misconfigured"


def raise_priority(priority: str, steps: int = 1) -> str:
    index = min(PRIORITY_STEPS.index(priority) + steps, len(PRIORITY_STEPS) - 1)
    return PRIORITY_STEPS[index]


def score_priority(*, intent: str, sentiment: float, followers: int | None, customer_value: Decimal | None,
                   is_complaint: bool = False) -> str:
    """Base priority from intent, complaint and sentiment, then one step up for a high-reach author and
    one for a high-value customer.

    A complaint (a breach of expectation) is never low, whatever its intent: a question about a
    lost bag is handled like a complaint (high when angry, normal otherwise).
    """
    complaint = intent != Intent.SPAM_TROLL and (is_complaint or intent == Intent.COMPLAINT)
    if complaint or intent == Intent.WARRANTY_RETURN:
        priority = Priority.HIGH if sentiment <= -0.5 else Priority.NORMAL
    elif intent in (Intent.SPAM_TROLL, Intent.OTHER, Intent.PRAISE, Intent.IDEA):
        priority = Priority.LOW
    else:
        priority = Priority.NORMAL
    if intent != Intent.SPAM_TROLL:
        bumps = int((followers or 0) >= HIGH_REACH_FOLLOWERS) + int((customer_value or 0) >= HIGH_VALUE_CUSTOMER)
        if bumps:
            priority = raise_priority(priority, bumps)
    return priority


# --- Compiled rules ---------------------------------------------------------------------------


def keyword_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


@lru_cache(maxsize=1024)
def keyword_regex(text: str) -> re.Pattern | None:
    """One regex for "any of these words or phrases": whole words, any case, any spacing."""
    phrases = keyword_lines(text)
    if not phrases:
        return None
    alternatives = sorted({r"\s+".join(re.escape(word) for word in phrase.split()) for phrase in phrases},
                          key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the conditions look at, read once per mention."""

    intent: str
    sentiment: float
    priority: str
    followers: int = 0
    customer_value: Decimal | None = None
    customer_stage: str = ""
    is_complaint: bool | None = None
    is_spam: bool | None = None
    promise_id: int | None = None
    source: str = ""
    language: str = ""
    text: str = ""


@dataclass(slots=True)
class CompiledRule:
    id: int | None
    name: str
    position: int
    is_default: bool
    department_id: int | None
    department_slug: str | None
    priority_override: str
    tags: tuple[str, ...]
    assign_to_lead: bool
    require_approval: bool
    monitor_only: bool
    # Conditions, as cheap checks; None or empty means "always holds".
    intents: frozenset = frozenset()
    is_complaint: bool | None = None
    is_spam: bool | None = None
    sources: frozenset = frozenset()
    languages: frozenset = frozenset()
    priorities: frozenset = frozenset()
    customer_stages: frozenset = frozenset()
    promise_ids: frozenset = frozenset()
    followers_min: int | None = None
    sentiment_min: float | None = None
    sentiment_max: float | None = None
    value_min: Decimal | None = None
    value_max: Decimal | None = None
    keywords: re.Pattern | None = None

    def matches(self, facts: Facts) -> bool:  # noqa: C901, PLR0911 - one flat check per condition, cheapest first
        if self.intents and facts.intent not in self.intents:
            return False
        if self.is_spam is not None and bool(facts.is_spam) is not self.is_spam:
            return False
        if self.is_complaint is not None and bool(facts.is_complaint) is not self.is_complaint:
            return False
        if self.sources and facts.source not in self.sources:
            return False
        if self.languages and facts.language not in self.languages:
            return False
        if self.priorities and facts.priority not in self.priorities:
            return False
        if self.customer_stages and facts.customer_stage not in self.customer_stages:
            return False
        if self.promise_ids and facts.promise_id not in self.promise_ids:
            return False
        if self.followers_min is not None and (facts.followers or 0) < self.followers_min:
            return False
        if self.sentiment_min is not None and facts.sentiment < self.sentiment_min:
            return False
        if self.sentiment_max is not None and facts.sentiment > self.sentiment_max:
            return False
        if self.value_min is not None and (facts.customer_value or 0) < self.value_min:
            return False
        if self.value_max is not None and (facts.customer_value or 0) > self.value_max:
            return False
        return self.keywords is None or self.keywords.search(facts.text) is not None


def compile_rule(rule: RoutingRule, *, promise_ids=None) -> CompiledRule:
    """Compile one rule, saved or not. `promise_ids` for an unsaved rule (its M2M is not stored yet)."""
    if promise_ids is None:
        promise_ids = [promise.pk for promise in rule.promises.all()] if rule.pk else []
    department = rule.department if rule.department_id else None
    return CompiledRule(
        id=rule.pk, name=rule.name, position=rule.position, is_default=rule.is_default,
        department_id=rule.department_id, department_slug=department.slug if department else None,
        priority_override=rule.priority_override, tags=tuple(rule.tags or ()),
        assign_to_lead=rule.assign_to_lead, require_approval=rule.require_approval, monitor_only=rule.monitor_only,
        intents=frozenset(rule.intents or ()), is_complaint=rule.is_complaint, is_spam=rule.is_spam,
        sources=frozenset(rule.sources or ()), languages=frozenset(rule.languages or ()),
        priorities=frozenset(rule.priorities or ()), customer_stages=frozenset(rule.customer_stages or ()),
        promise_ids=frozenset(promise_ids), followers_min=rule.followers_min,
        sentiment_min=rule.sentiment_min, sentiment_max=rule.sentiment_max,
        value_min=rule.customer_value_min, value_max=rule.customer_value_max,
        keywords=keyword_regex(rule.keywords or ""),
    )


@dataclass
class RuleSet:
    """The active rules in order, then the default rule."""

    rules: list[CompiledRule] = field(default_factory=list)
    default: CompiledRule | None = None

    def first_match(self, facts: Facts) -> CompiledRule | None:
        for rule in self.rules:
            if rule.matches(facts):
                return rule
        return self.default


def load_rules(queryset=None) -> RuleSet:
    """The active rules, compiled: two queries, whatever the number of rules. Call once per batch."""
    if queryset is None:
        queryset = RoutingRule.objects.filter(is_active=True)
    rules = list(queryset.select_related("department").order_by("position", "id"))
    promise_ids: dict[int, list[int]] = {rule.pk: [] for rule in rules}
    if rules:  # the through table only: the promises themselves are not needed
        links = RoutingRule.promises.through.objects.filter(routingrule_id__in=promise_ids)
        for rule_id, promise_id in links.values_list("routingrule_id", "promise_id"):
            promise_ids[rule_id].append(promise_id)
    ruleset = RuleSet()
    for rule in rules:
        compiled = compile_rule(rule, promise_ids=promise_ids[rule.pk])
        if rule.is_default:
            ruleset.default = compiled
        else:
            ruleset.rules.append(compiled)
    return ruleset


# --- Decisions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteDecision:
    department_slug: str | None
    priority: str
    rule: str
    rule_id: int | None = None
    department_id: int | None = None
    tags: tuple[str, ...] = ()
    assign_to_lead: bool = False
    require_approval: bool = False

    @property
    def creates_case(self) -> bool:
        return self.department_slug is not None


def facts_for(*, mention: Mention | None = None, customer=None, intent: str | None = None,
              sentiment: float | None = None, followers: int | None = None, customer_value=None,
              is_complaint: bool | None = None, is_spam: bool | None = None) -> Facts:
    """The facts of a mention; explicit arguments win over the mention's own fields."""
    if mention is not None:
        intent = mention.intent if intent is None else intent
        sentiment = (mention.sentiment or 0.0) if sentiment is None else sentiment
        followers = mention.author_followers if followers is None else followers
        is_complaint = mention.is_complaint if is_complaint is None else is_complaint
        is_spam = mention.is_spam if is_spam is None else is_spam
        if customer is None and mention.customer_id:
            customer = mention.customer
    intent, sentiment = intent or "", sentiment or 0.0
    if customer_value is None and customer is not None:
        customer_value = customer.value
    priority = score_priority(intent=intent, sentiment=sentiment, followers=followers, customer_value=customer_value,
                              is_complaint=bool(is_complaint))
    return Facts(
        intent=intent, sentiment=sentiment, priority=priority, followers=followers or 0,
        customer_value=customer_value, customer_stage=customer.stage if customer is not None else "",
        is_complaint=is_complaint, is_spam=is_spam,
        promise_id=mention.promise_id if mention is not None else None,
        source=mention.source if mention is not None else "", language=mention.language if mention is not None else "",
        text=mention.text if mention is not None else "",
    )


def decide(rule: CompiledRule | None, facts: Facts) -> RouteDecision:
    if rule is None:  # no default rule: a misconfiguration, but never lose the mention
        return RouteDecision(department_slug=DEFAULT_DEPARTMENT, priority=facts.priority, rule="default:fallback")
    if rule.monitor_only:
        return RouteDecision(department_slug=None, priority=facts.priority, rule=rule.name, rule_id=rule.id)
    if rule.department_id is None:
        raise RoutingError(
            f"Routing rule {rule.name!r} has no department (was it deleted?): choose one on the routing rules page."
        )
    return RouteDecision(
        department_slug=rule.department_slug, priority=rule.priority_override or facts.priority, rule=rule.name,
        rule_id=rule.id, department_id=rule.department_id, tags=rule.tags, assign_to_lead=rule.assign_to_lead,
        require_approval=rule.require_approval,
    )


def route(*, intent: str | None = None, sentiment: float | None = None, followers: int | None = None,
          customer_value=None, is_complaint: bool | None = None, is_spam: bool | None = None,
          mention: Mention | None = None, customer=None, rules: RuleSet | None = None) -> RouteDecision:
    """Route one mention: the first active rule whose conditions hold, else the default rule.

    Pass the mention (its promise, source, language and text feed the conditions) and `rules`
    from `load_rules` when routing many; without `rules` the active rules are loaded for this call.
    Explicit arguments (intent, sentiment, followers, customer_value, is_complaint, is_spam) win
    over the mention's fields.
    """
    facts = facts_for(mention=mention, customer=customer, intent=intent, sentiment=sentiment, followers=followers,
                      customer_value=customer_value, is_complaint=is_complaint, is_spam=is_spam)
    rules = load_rules() if rules is None else rules
    return decide(rules.first_match(facts), facts)


# --- Writes on rules ------------------------------------------------------------------------


def ensure_default_rules() -> int:
    """Create the domain guide's default rules if there are none. Returns how many were created."""
    return create_routing_rules(RoutingRule, Department.objects.in_bulk(field_name="slug"))


def save_rule(*, rule: RoutingRule, promises=None, by=None) -> RoutingRule:
    """Create or update a rule (a new one goes last, before the default)."""
    with transaction.atomic():
        if rule.pk is None and not rule.position:
            last = RoutingRule.objects.filter(is_default=False).order_by("-position").values_list("position", flat=True)
            rule.position = (last.first() or 0) + 10
        if rule.is_default:
            rule.is_active = True
        rule.updated_by = by
        if by is not None:
            rule._history_user = by  # the audit history's "who", also outside a request
        rule.save()
        if promises is not None:
            rule.promises.set(promises)
    return rule


def move_rule(*, rule: RoutingRule, up: bool, by=None, managed: set[int] | None = None) -> None:
    """Swap a rule with its neighbour; positions are renumbered 10, 20, ... under a lock.

    `managed`: the ids of the rules `by` may manage (None: all, a superuser); the neighbour must be one of them
    (see `reorder_rules`)."""
    if rule.is_default:
        raise RoutingError("The default rule always comes last.")
    with transaction.atomic():
        locked = list(RoutingRule.objects.select_for_update().filter(is_default=False).order_by("position", "id"))
        ordered = list(locked)
        index = next(i for i, other in enumerate(ordered) if other.pk == rule.pk)
        other = index - 1 if up else index + 1
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
        reorder_rules(ids=[item.pk for item in ordered], by=by, managed=managed, _locked=locked)


def _moves_only_within_runs(before: list[RoutingRule], after: list[RoutingRule], managed: set[int]) -> bool:
    """Whether `after` only reorders each run of adjacent managed rules among itself: then every other rule
    keeps its place, and which rule comes first between a managed and an unmanaged one is unchanged."""
    start = 0
    while start < len(before):
        end = start + 1
        if before[start].pk in managed:
            while end < len(before) and before[end].pk in managed:
                end += 1
            if {rule.pk for rule in before[start:end]} != {rule.pk for rule in after[start:end]}:
                return False
        elif after[start].pk != before[start].pk:
            return False
        start = end
    return True


def reorder_rules(*, ids: list[int], by=None, managed: set[int] | None = None, _locked=None) -> None:
    """Put the non-default rules in the order of `ids` (those left out keep their order, after).

    `managed`: the ids of the rules `by` may manage (None: all, a superuser). The first matching rule wins, so
    moving a rule past another department's rule takes that department's posts (or gives them away): only a
    superuser may; a head reorders only their own adjacent rules (NotAllowed otherwise)."""
    with transaction.atomic():
        rules = _locked or list(
            RoutingRule.objects.select_for_update().filter(is_default=False).order_by("position", "id")
        )
        by_id = {rule.pk: rule for rule in rules}
        ordered = [by_id[pk] for pk in ids if pk in by_id]
        ordered += [rule for rule in rules if rule not in ordered]
        if managed is not None and not _moves_only_within_runs(rules, ordered, managed):
            raise NotAllowed("Only an administrator can move a rule past a rule of a department you do not head: "
                             "the first matching rule wins, so that changes where other departments' posts go.")
        for position, rule in enumerate(ordered, start=1):
            if rule.position != position * 10:
                # Saved one by one (a few rules), so the audit history records each move and by whom.
                rule.position, rule.updated_by = position * 10, by
                if by is not None:
                    rule._history_user = by
                rule.save(update_fields=["position", "updated_by", "updated_at"])


def delete_rule(*, rule: RoutingRule) -> None:
    """Delete a rule; its cases keep their history (routed_by becomes empty). The default stays."""
    if rule.is_default:
        raise RoutingError("The default rule cannot be deleted; change its department instead.")
    rule.delete()


# --- Test this rule -------------------------------------------------------------------------

TEST_SAMPLE = 1000


def try_rule(*, rule: RoutingRule, promise_ids=(), sample: int = TEST_SAMPLE, show: int = 25) -> dict:
    """What a rule, as edited and not saved, would have matched among the last `sample` processed
    mentions, and how many of those an earlier active rule would have taken first."""
    candidate = compile_rule(rule, promise_ids=promise_ids)
    if rule.is_default or rule.pk is None:  # a new rule goes last
        earlier = load_rules().rules
    else:
        earlier = [other for other in load_rules().rules
                   if other.id != rule.pk and (other.position, other.id) < (rule.position, rule.pk)]
    mentions = (
        Mention.objects.filter(processed_at__isnull=False).select_related("customer", "case__department")
        .order_by("-received_at", "-id")[:sample]
    )
    total, matched, reached = 0, [], 0
    for mention in mentions:
        total += 1
        facts = facts_for(mention=mention)
        if not candidate.matches(facts):
            continue
        taken_by = next((other.name for other in earlier if other.matches(facts)), None)
        reached += taken_by is None
        matched.append((mention, taken_by))
    return {"sample": total, "matched": len(matched), "reached": reached, "examples": matched[:show]}
