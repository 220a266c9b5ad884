"""Every label of understanding (rules-1), promise matching, language, priority, and the pipeline storing them."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from feedback.choices import Assessment, Intent, MentionStatus, Priority, Sentiment
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention
from feedback.pipeline import process_mention, process_mentions
from feedback.routing.services import HIGH_REACH_FOLLOWERS, score_priority
from feedback.understanding.adapter import MODEL_VERSION, Understanding, understand_text, understand_texts
from feedback.understanding.models import Promise
from feedback.understanding.promises import (
    DEFAULT_PROMISES,
    PromiseVocabulary,
    active_vocabulary,
    ensure_default_promises,
)

# About rules-1 (rules.py) and the pipeline storing its labels: these run with the rules engine.
pytestmark = pytest.mark.rules_engine

POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


# --- The adapter (no database) ----------------------------------------------------------


def test_every_label_comes_with_a_confidence_and_the_model_version():
    reading = understand_text("@SkyJet delayed 5 hours, lost my bag and the staff were rude. Worst airline ever.")
    assert isinstance(reading, Understanding)
    assert reading.model_version == MODEL_VERSION == "rules-1"
    assert reading.sentiment_label == Sentiment.NEGATIVE and 0.5 < reading.sentiment_confidence <= 0.8
    assert reading.intent == Intent.COMPLAINT and reading.intent_confidence == 0.7
    assert reading.is_complaint is True and reading.complaint_confidence > 0.5
    assert reading.promise == "bags_arrive" and reading.promise_confidence == 0.6  # "lost my bag" is the longest phrase
    assert reading.is_spam is False and 0 < reading.spam_confidence <= 1
    assert reading.language == "en"
    assert reading.assessment == Assessment.RECTIFY


def test_batch_and_single_agree():
    texts = ["@SkyJet thank you, the crew was lovely", "check out my channel and subscribe", "mi vuelo fue cancelado"]
    assert understand_texts(texts) == [understand_text(text) for text in texts]
    assert understand_texts([]) == []


@pytest.mark.parametrize(
    ("text", "is_complaint"),
    [
        ("@SkyJet my flight was cancelled and I want my money back", True),  # a refund request about a breach
        ("@SkyJet why is my flight delayed again?", True),
        ("@SkyJet this is the most horrible, disgusting experience of my life", True),  # strongly negative
        ("@SkyJet what is the baggage allowance on international flights?", False),  # a question, nothing broke
        ("@SkyJet huge thanks to the crew on flight 212, amazing service!", False),
        ("meh", False),  # negative tone is not a complaint by itself
        ("check out my channel and subscribe to my videos", False),
    ],
)
def test_complaint_is_a_breach_not_a_negative_tone(text, is_complaint):
    assert understand_text(text).is_complaint is is_complaint


def test_spam_is_flagged():
    spam = understand_text("Love this airline! check out my travel vlog and subscribe to my channel")
    assert spam.is_spam is True and spam.intent == Intent.SPAM_TROLL and spam.spam_confidence == 0.8
    assert spam.assessment == Assessment.IGNORE  # not negative: not about us
    assert understand_text("@SkyJet flying to Boston tomorrow").is_spam is False


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("@SkyJet flying to Boston tomorrow, can't wait", "en"),
        ("@SkyJet mi vuelo fue cancelado otra vez y nadie me ayuda", "es"),
        ("@SkyJet mon vol est encore en retard, c'est inadmissible", "fr"),
        ("@SkyJet https://t.co/abc123 #fail", "und"),  # nothing but handles, links and a tag
        ("meh", "und"),  # too short to tell
    ],
)
def test_language_is_an_iso_code_or_und(text, language):
    assert understand_text(text).language == language


def test_promise_longest_phrase_wins_and_whole_words_with_endings():
    vocabulary = [
        PromiseVocabulary(slug="on_time", phrases=("delay",)),
        PromiseVocabulary(slug="bags_arrive", phrases=("lost bag", "delayed bag")),
    ]
    assert understand_text("my bag was a delayed bag", promises=vocabulary).promise == "bags_arrive"
    assert understand_text("two delays in one week", promises=vocabulary).promise == "on_time"  # plural ending
    assert understand_text("delayed again", promises=vocabulary).promise == "on_time"  # -ed ending
    assert understand_text("delaware is nice", promises=vocabulary).promise is None  # not inside a word
    assert understand_text("LOST   BAGS everywhere", promises=vocabulary).promise == "bags_arrive"  # case, spacing
    nothing = understand_text("lovely day", promises=vocabulary)
    assert nothing.promise is None and nothing.promise_confidence == 0.0


def test_without_a_vocabulary_the_default_promises_are_used():
    assert len(DEFAULT_PROMISES) == 9
    assert understand_text("@SkyJet sitting on the tarmac for two hours").promise == "on_time"
    assert understand_text("@SkyJet my suitcase came back with a broken handle").promise == "bags_intact"
    assert understand_text("@SkyJet the wifi never worked").promise == "comfortable_flight"
    assert understand_text("@SkyJet an empty vocabulary matches nothing", promises=[]).promise is None


# --- Priority -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "is_complaint", "sentiment", "priority"),
    [
        (Intent.QUESTION, True, -0.7, Priority.HIGH),  # an angry question about a breach is handled as a complaint
        (Intent.QUESTION, False, -0.7, Priority.NORMAL),
        (Intent.QUESTION, True, -0.2, Priority.NORMAL),
        (Intent.OTHER, True, -0.1, Priority.NORMAL),  # a complaint is never low
        (Intent.OTHER, False, -0.1, Priority.LOW),
        (Intent.PRAISE, True, 0.6, Priority.NORMAL),  # sarcastic praise of a delay
        (Intent.COMPLAINT, False, -0.8, Priority.HIGH),  # the intent alone still counts
        (Intent.SPAM_TROLL, True, -0.9, Priority.LOW),  # spam is never raised
    ],
)
def test_priority_uses_the_complaint_flag(intent, is_complaint, sentiment, priority):
    assert score_priority(intent=intent, sentiment=sentiment, followers=None, customer_value=None,
                          is_complaint=is_complaint) == priority


def test_priority_complaint_with_reach_and_value_is_urgent():
    assert score_priority(intent=Intent.OTHER, sentiment=-0.6, followers=HIGH_REACH_FOLLOWERS,
                          customer_value=Decimal("10"), is_complaint=True) == Priority.URGENT


# --- Promises in the database and the pipeline ----------------------------------------------

pytestmark_db = pytest.mark.django_db


@pytest.fixture
def promises(db):
    ensure_default_promises()
    return {promise.slug: promise for promise in Promise.objects.all()}


def _store(text, external_id="1", handle="dana", **extra):
    mention, _ = store_mention(source="x", external_id=external_id, text=text, posted_at=POSTED,
                               author_handle=handle, enqueue=False, **extra)
    return mention


@pytestmark_db
def test_the_data_migration_seeded_the_nine_promises_with_their_departments(promises):
    assert set(promises) == {spec["slug"] for spec in DEFAULT_PROMISES}
    assert promises["on_time"].department.slug == "service"
    assert promises["bags_arrive"].department.slug == "after-sales"
    assert promises["easy_booking"].department.slug == "sales"
    for promise in promises.values():
        assert promise.is_active and promise.description and 5 <= len(promise.phrases) <= 10, promise.slug
    assert ensure_default_promises() == 0  # idempotent


@pytestmark_db
def test_active_vocabulary_is_one_query_and_skips_inactive_promises(promises, django_assert_num_queries):
    Promise.objects.filter(slug="short_lines").update(is_active=False)
    with django_assert_num_queries(1):
        vocabulary = active_vocabulary()
    assert {item.slug for item in vocabulary} == set(promises) - {"short_lines"}
    assert all(item.id == promises[item.slug].pk for item in vocabulary)


@pytestmark_db
def test_pipeline_stores_every_label_and_the_priority(promises):
    mention = _store("@airline my flight is delayed for the third time, unacceptable", author_followers=25_000)
    process_mention(mention_id=mention.pk)
    mention.refresh_from_db()
    assert mention.status == MentionStatus.PROCESSED
    assert mention.sentiment < 0 and mention.sentiment_label == Sentiment.NEGATIVE
    assert mention.sentiment_confidence is not None
    assert (mention.intent, mention.intent_confidence) == (Intent.COMPLAINT, 0.7)
    assert mention.is_complaint is True and mention.complaint_confidence == 0.75
    assert mention.promise == promises["on_time"] and mention.promise_confidence == 0.6
    assert mention.is_spam is False and mention.spam_confidence == 0.8
    assert mention.language == "en"
    assert mention.assessment == Assessment.RECTIFY
    assert mention.model_version == "rules-1"
    assert mention.corrected_labels == []
    assert mention.priority == Priority.URGENT  # angry complaint (high) + high reach
    assert mention.case.priority == mention.priority


@pytestmark_db
def test_pipeline_matches_only_active_promises_with_their_current_phrases(promises):
    Promise.objects.filter(slug="on_time").update(is_active=False)
    Promise.objects.filter(slug="helpful_service").update(phrases=["nobody picks up"])
    first = _store("@airline my flight is delayed again", external_id="1")
    second = _store("@airline I call and nobody picks up the phone", external_id="2", handle="eve")
    process_mentions(mention_ids=[first.pk, second.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.promise is None and first.promise_confidence == 0.0
    assert second.promise == promises["helpful_service"]


@pytestmark_db
def test_understanding_reads_the_promises_once_per_batch(promises, django_assert_max_num_queries):
    mentions = [_store(f"@airline lost my bag number {n}", external_id=str(n), handle=f"user{n}") for n in range(20)]
    with django_assert_max_num_queries(60) as captured:
        process_mentions(mention_ids=[mention.pk for mention in mentions])
    promise_reads = [q["sql"] for q in captured.captured_queries if 'FROM "feedback_promise"' in q["sql"]]
    assert len(promise_reads) == 1
    assert Mention.objects.filter(promise=promises["bags_arrive"]).count() == 20


@pytestmark_db
def test_spam_is_monitored_without_a_case(promises):
    mention = _store("check out my channel and subscribe to my videos http://spam.example")
    process_mention(mention_id=mention.pk)
    mention.refresh_from_db()
    assert mention.is_spam is True
    assert mention.case is None
    assert mention.priority == Priority.LOW
    assert mention.assessment == Assessment.IGNORE
