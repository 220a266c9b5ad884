"""Routing rules as data: every condition and action, first match wins, the default, "test this
rule", the rule pages and their permissions, and the case's routed_by."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from feedback.cases.models import Case
from feedback.choices import Intent, Priority
from feedback.intake.ingest import store_mention
from feedback.pipeline import process_mention
from feedback.routing import services as routing
from feedback.routing.models import RoutingRule
from feedback.understanding.models import Promise
from teams.models import Role
from tests.factories import CaseFactory, CustomerFactory, MembershipFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db

POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _facts(text="@airline hello", customer=None, **mention_fields):
    fields = {"intent": Intent.QUESTION, "sentiment": 0.0, "author_followers": 10, "language": "en", **mention_fields}
    mention = MentionFactory.build(text=text, **fields)
    customer = customer or CustomerFactory.build(stage="customer", value=Decimal("100"))
    return routing.facts_for(mention=mention, customer=customer)


def _matches(rule_fields: dict, facts, promise_ids=()) -> bool:
    rule = RoutingRule(name="t", department=department("service"), **rule_fields)
    return routing.compile_rule(rule, promise_ids=promise_ids).matches(facts)


def _first_rule(**fields) -> RoutingRule:
    """A rule tried before every seeded one."""
    fields.setdefault("department", department("service"))
    return RoutingRule.objects.create(name=fields.pop("name", "test rule"), position=1, **fields)


# --- Conditions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule_fields", "mention_fields", "expected"),
    [
        ({}, {}, True),  # no condition: always holds
        ({"intents": ["question", "complaint"]}, {"intent": "question"}, True),
        ({"intents": ["complaint"]}, {"intent": "question"}, False),
        ({"is_complaint": True}, {"is_complaint": True}, True),
        ({"is_complaint": True}, {"is_complaint": None}, False),
        ({"is_complaint": False}, {"is_complaint": None}, True),  # unknown counts as "not a complaint"
        ({"is_spam": True}, {"is_spam": True}, True),
        ({"is_spam": True}, {"is_spam": False}, False),
        ({"sentiment_min": -1.0, "sentiment_max": -0.5}, {"sentiment": -0.5}, True),  # bounds inclusive
        ({"sentiment_min": -1.0, "sentiment_max": -0.5}, {"sentiment": -0.4}, False),
        ({"sentiment_min": 0.5}, {"sentiment": 0.2}, False),
        ({"followers_min": 10_000}, {"author_followers": 10_000}, True),
        ({"followers_min": 10_000}, {"author_followers": 9_999}, False),
        ({"followers_min": 1}, {"author_followers": None}, False),
        ({"sources": ["review", "facebook"]}, {"source": "review"}, True),
        ({"sources": ["review"]}, {"source": "x"}, False),
        ({"languages": ["fr", "de"]}, {"language": "fr"}, True),
        ({"languages": ["fr"]}, {"language": "en"}, False),
        ({"priorities": [Priority.NORMAL]}, {"intent": Intent.QUESTION}, True),
        ({"priorities": [Priority.URGENT, Priority.HIGH]}, {"intent": Intent.QUESTION}, False),
    ],
)
def test_each_condition(rule_fields, mention_fields, expected):
    assert _matches(rule_fields, _facts(**mention_fields)) is expected


@pytest.mark.parametrize(
    ("keywords", "text", "expected"),
    [
        ("refund\nlost bag", "@airline I want a REFUND now", True),  # any of, any case
        ("refund\nlost bag", "@airline my lost   bag is still missing", True),  # a phrase, any spacing
        ("refund", "@airline refunds are slow", False),  # whole words only
        ("c++ (beta)", "is the c++ (beta) app out?", True),  # typed text, not a regex
        ("lost bag", "@airline my bag is lost", False),
    ],
)
def test_keywords_or_phrases(keywords, text, expected):
    assert _matches({"keywords": keywords}, _facts(text=text)) is expected


@pytest.mark.parametrize(
    ("rule_fields", "stage", "value", "expected"),
    [
        ({"customer_stages": ["customer", "former"]}, "customer", "0", True),
        ({"customer_stages": ["prospect"]}, "customer", "0", False),
        ({"customer_value_min": Decimal("5000")}, "customer", "5000", True),
        ({"customer_value_min": Decimal("5000")}, "customer", "4999.99", False),
        ({"customer_value_max": Decimal("100")}, "customer", "100.01", False),
        ({"customer_value_min": Decimal("10"), "customer_value_max": Decimal("100")}, "lead", "50", True),
    ],
)
def test_customer_conditions(rule_fields, stage, value, expected):
    customer = CustomerFactory.build(stage=stage, value=Decimal(value))
    assert _matches(rule_fields, _facts(customer=customer)) is expected


def test_promise_condition():
    on_time = Promise.objects.create(name="On time", slug="test-on-time")
    bags = Promise.objects.create(name="Bags arrive", slug="test-bags")
    about_bags = _facts(promise=bags)
    assert _matches({}, about_bags, promise_ids=[bags.pk, on_time.pk])
    assert not _matches({}, about_bags, promise_ids=[on_time.pk])
    assert not _matches({}, _facts(promise=None), promise_ids=[bags.pk])
    rule = _first_rule(name="bag promise", department=department("after-sales"))
    rule.promises.set([bags])
    mention = MentionFactory(promise=bags, intent=Intent.QUESTION)
    assert routing.route(mention=mention, customer=CustomerFactory()).department_slug == "after-sales"


def test_conditions_combine_with_and():
    fields = {"intents": ["complaint"], "followers_min": 1000, "keywords": "delayed"}
    assert _matches(fields, _facts("flight delayed", intent="complaint", author_followers=5000))
    assert not _matches(fields, _facts("flight delayed", intent="complaint", author_followers=50))
    assert not _matches(fields, _facts("flight late", intent="complaint", author_followers=5000))


# --- Actions, order, default ----------------------------------------------------------------


def _route(text="@airline zeppelin", **mention_fields):
    fields = {"intent": Intent.QUESTION, "sentiment": 0.0, **mention_fields}
    return routing.route(mention=MentionFactory(text=text, **fields), customer=CustomerFactory())


def test_actions_department_priority_tags_lead_and_approval():
    rule = _first_rule(keywords="zeppelin", department=department("legal"), priority_override=Priority.URGENT,
                       tags=["vip", "airship"], assign_to_lead=True, require_approval=True)
    decision = _route()
    assert (decision.department_slug, decision.priority, decision.rule_id, decision.rule) == (
        "legal", Priority.URGENT, rule.pk, "test rule")
    assert decision.tags == ("vip", "airship")
    assert decision.assign_to_lead and decision.require_approval
    assert decision.creates_case


def test_monitor_only_creates_no_case():
    _first_rule(keywords="zeppelin", monitor_only=True, department=None)
    decision = _route()
    assert not decision.creates_case
    assert decision.department_slug is None


def test_first_match_wins_and_order_can_change():
    first = _first_rule(name="first", keywords="zeppelin", department=department("legal"))
    second = RoutingRule.objects.create(name="second", position=2, keywords="zeppelin", department=department("hr"))
    assert _route().rule_id == first.pk
    routing.move_rule(rule=second, up=True)
    assert _route().rule_id == second.pk
    second.refresh_from_db()
    assert second.position < RoutingRule.objects.get(pk=first.pk).position


def test_an_inactive_rule_is_skipped():
    _first_rule(keywords="zeppelin", department=department("legal"), is_active=False)
    assert _route().department_slug == "service"  # the seeded question rule


def test_the_default_catches_the_rest_and_goes_last_whatever_its_position():
    default = RoutingRule.objects.get(is_default=True)
    RoutingRule.objects.filter(pk=default.pk).update(position=0)
    decision = _route(intent=Intent.OTHER)
    assert (decision.department_slug, decision.rule_id) == ("marketing", default.pk)
    assert _route(intent=Intent.IDEA).department_slug == "product"


def test_seeded_defaults_for_flags_press_and_employee_praise():
    spam = _route(text="@airline great airline", intent=Intent.PRAISE, is_spam=True)
    assert not spam.creates_case
    press = _route(text="@airline journalist here", intent=Intent.PRESS)
    assert (press.department_slug, press.require_approval, press.tags) == ("marketing", True, ("legal-review",))
    praise = _route(text="@airline shout out to Maria, our flight attendant", intent=Intent.PRAISE)
    assert (praise.department_slug, praise.tags) == ("hr", ("employee-praise",))
    assert _route(text="@airline lovely flight", intent=Intent.PRAISE).department_slug == "marketing"
    other_complaint = _route(text="@airline hmm", intent=Intent.OTHER, is_complaint=True)
    assert other_complaint.department_slug == "service"


def test_a_rule_whose_department_was_deleted_fails_loudly():
    rule = _first_rule(keywords="zeppelin", department=department("legal"))
    department("legal").delete()
    rule.refresh_from_db()
    assert rule.department is None
    with pytest.raises(routing.RoutingError, match="test rule"):
        _route()


def test_rules_load_in_two_queries_whatever_their_number(django_assert_num_queries):
    for i in range(20):
        RoutingRule.objects.create(name=f"r{i}", position=100 + i, keywords=f"word{i}", department=department("hr"))
    with django_assert_num_queries(2):
        rules = routing.load_rules()
    assert len(rules.rules) == RoutingRule.objects.filter(is_default=False, is_active=True).count()
    default = RoutingRule.objects.get(is_default=True)
    assert (rules.default.id, rules.default.is_default) == (default.pk, True)
    assert [rule.id for rule in rules.rules] == list(
        RoutingRule.objects.filter(is_default=False, is_active=True).order_by("position", "id").values_list("id", flat=True)
    )


# --- The pipeline records the rule ----------------------------------------------------------


def _process(text, external_id="1", handle="dana"):
    mention, _ = store_mention(source="x", external_id=external_id, text=text, posted_at=POSTED,
                               author_handle=handle, enqueue=False)
    process_mention(mention_id=mention.pk)
    mention.refresh_from_db()
    return mention


def test_the_case_records_the_rule_its_tags_and_the_approval_flag(client):
    rule = _first_rule(name="Airships to legal", keywords="zeppelin", department=department("legal"),
                       tags=["airship"], require_approval=True)
    case = _process("@airline is the zeppelin service still running?").case
    assert (case.routed_by, case.department.slug, case.tags, case.requires_approval) == (
        rule, "legal", ["airship"], True)
    member = MembershipFactory(department=department("legal")).user
    client.force_login(member)
    html = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Routed by the rule “Airships to legal”" in html
    assert "approval" in html


def test_seeded_rule_is_recorded_and_old_cases_have_none():
    case = _process("@airline my flight is delayed for the third time, unacceptable").case
    assert case.routed_by.name == "Complaints and questions: service"
    assert CaseFactory().routed_by is None


def test_monitor_only_rule_in_the_pipeline_creates_no_case():
    _first_rule(keywords="zeppelin", monitor_only=True, department=None)
    assert _process("@airline zeppelin zeppelin").case is None
    assert Case.objects.count() == 0


# --- Pages ----------------------------------------------------------------------------------


@pytest.fixture
def head_client(client):
    head = MembershipFactory(user=UserFactory(username="service-head"), department=department("service"),
                             role=Role.HEAD).user
    client.force_login(head)
    return client


@pytest.fixture
def superuser_client(client):
    """Manages every rule: the default (to marketing), other departments' rules and the order across them."""
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    return client


@pytest.fixture
def agent_client(client, service_agent):
    client.force_login(service_agent)
    return client


def _rule_post(**overrides):
    data = {"name": "VIP complaints", "is_active": "on", "intents": ["complaint"], "is_complaint": "",
            "is_spam": "", "keywords": "", "languages": "", "tags": "vip", "department": department("service").pk,
            "priority_override": Priority.URGENT, "customer_value_min": "5000"}
    data.update(overrides)
    return data


def test_non_heads_get_403_everywhere(agent_client):
    rule = RoutingRule.objects.filter(is_default=False).first()
    gets = [reverse("rule-list"), reverse("rule-create"), reverse("rule-edit", args=[rule.pk])]
    posts = [reverse("rule-create"), reverse("rule-test-new"), reverse("rule-test", args=[rule.pk]),
             reverse("rule-move", args=[rule.pk, "up"]), reverse("rule-toggle", args=[rule.pk]),
             reverse("rule-delete", args=[rule.pk]), reverse("rule-reorder")]
    for url in gets:
        assert agent_client.get(url).status_code == 403, url
    for url in posts:
        assert agent_client.post(url, _rule_post()).status_code == 403, url
    assert RoutingRule.objects.filter(pk=rule.pk, is_active=True).exists()


def test_a_superuser_manages_rules(client):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    response = client.get(reverse("rule-list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Default: marketing" in html
    assert reverse("rule-create") in html
    for rule in RoutingRule.objects.filter(is_default=False):  # every department's rules, not one head's
        assert reverse("rule-edit", args=[rule.pk]) in html, rule.name


def test_a_head_lists_creates_edits_moves_deactivates_and_deletes(head_client):
    response = head_client.get(reverse("rule-list"))
    assert response.status_code == 200
    assert "Default: marketing" in response.content.decode()

    response = head_client.post(reverse("rule-create"), _rule_post())
    assert response.status_code == 302
    rule = RoutingRule.objects.get(name="VIP complaints")
    last = RoutingRule.objects.filter(is_default=False).order_by("-position").first()
    assert rule == last  # a new rule goes last, before the default
    assert (rule.intents, rule.tags, rule.customer_value_min, rule.is_complaint) == (
        ["complaint"], ["vip"], Decimal("5000"), None)

    response = head_client.post(reverse("rule-edit", args=[rule.pk]), _rule_post(name="VIP", is_complaint="true"))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.is_complaint) == ("VIP", True)

    before = rule.position
    head_client.post(reverse("rule-move", args=[rule.pk, "up"]))
    rule.refresh_from_db()
    assert rule.position < before

    head_client.post(reverse("rule-toggle", args=[rule.pk]))
    rule.refresh_from_db()
    assert not rule.is_active

    head_client.post(reverse("rule-delete", args=[rule.pk]))
    assert not RoutingRule.objects.filter(pk=rule.pk).exists()


def test_the_default_rule_cannot_be_deleted_or_deactivated(superuser_client):
    default = RoutingRule.objects.get(is_default=True)
    superuser_client.post(reverse("rule-delete", args=[default.pk]))
    superuser_client.post(reverse("rule-toggle", args=[default.pk]))
    default.refresh_from_db()
    assert default.is_active
    response = superuser_client.post(reverse("rule-edit", args=[default.pk]),
                                {"name": "Default: service", "department": department("service").pk, "tags": ""})
    assert response.status_code == 302
    default.refresh_from_db()
    assert (default.department.slug, default.is_default) == ("service", True)


def test_invalid_rules_are_refused(head_client):
    response = head_client.post(reverse("rule-create"), _rule_post(department="", sentiment_min="0.5",
                                                                    sentiment_max="-0.5"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "department" in errors and "sentiment_max" in errors
    assert not RoutingRule.objects.filter(name="VIP complaints").exists()


def test_reorder_by_ids(superuser_client):
    ids = list(RoutingRule.objects.filter(is_default=False).order_by("position").values_list("pk", flat=True))
    superuser_client.post(reverse("rule-reorder"), {"rule": list(reversed(ids))})
    assert list(RoutingRule.objects.filter(is_default=False).order_by("position").values_list("pk", flat=True)) == (
        list(reversed(ids)))


# --- Test this rule -------------------------------------------------------------------------


def test_test_this_rule_shows_matches_of_the_unsaved_rule(superuser_client):
    for i, text in enumerate(["@airline my zeppelin ride was late", "@airline zeppelin tickets?", "@airline hi"]):
        _process(text, external_id=f"t{i}", handle=f"h{i}")
    rule = RoutingRule.objects.get(name="Ideas: product")
    before = (rule.keywords, rule.intents, rule.updated_at)
    response = superuser_client.post(reverse("rule-test", args=[rule.pk]),
                                     _rule_post(name="Ideas: product", intents=[], keywords="zeppelin",
                                                customer_value_min=""),
                                     HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "2 of the last 3 posts match" in html
    assert "zeppelin ride" in html and "zeppelin tickets" in html
    assert "taken first by" in html  # earlier rules (spam, complaints and questions...) claim them first
    rule.refresh_from_db()
    assert (rule.keywords, rule.intents, rule.updated_at) == before  # nothing saved


def test_test_this_rule_for_a_new_rule_and_an_invalid_one(head_client):
    _process("@airline zeppelin please", external_id="n1")
    response = head_client.post(reverse("rule-test-new"), _rule_post(intents=[], keywords="zeppelin",
                                                                     customer_value_min=""))
    assert "1 of the last 1 post match" in response.content.decode()
    response = head_client.post(reverse("rule-test-new"), _rule_post(department=""))
    assert "cannot be tested" in response.content.decode()
    assert RoutingRule.objects.filter(name="VIP complaints").count() == 0


def test_try_rule_counts_only_the_last_1000(settings):
    rule = RoutingRule(name="all", department=department("hr"))
    assert routing.try_rule(rule=rule)["sample"] == 0
    assert routing.TEST_SAMPLE == 1000
