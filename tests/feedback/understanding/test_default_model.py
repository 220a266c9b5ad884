"""The pipeline with the default understanding engine: the learned model (feedback/understanding/)."""

from datetime import UTC, datetime

import pytest

from feedback.choices import MentionStatus
from feedback.intake.ingest import store_mentions
from feedback.intake.models import Mention
from feedback.pipeline import process_mentions
from feedback.understanding.adapter import understand_texts

POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def model_engine(settings):
    settings.BATON_UNDERSTANDING_ENGINE = "model"


def test_the_model_labels_real_posts(model_engine):
    complaint, praise, spam = understand_texts([
        "@united you lost my bag again and nobody at the desk will help, third time this month",
        "@VirginAmerica thank you so much, the crew on VX 112 was amazing!",
        "Check out my channel and subscribe to win a free iPhone http://bit.ly/xyz",
    ])
    assert complaint.model_version.startswith("understanding-")
    assert (complaint.sentiment_label, complaint.is_complaint, complaint.intent) == ("negative", True, "complaint")
    assert complaint.promise == "bags_arrive"
    assert complaint.assessment == "rectify"
    assert (praise.sentiment_label, praise.is_complaint, praise.assessment) == ("positive", False, "concur")
    assert spam.is_spam
    for reading in (complaint, praise, spam):
        assert 0 <= reading.intent_confidence <= 1 and 0 <= reading.complaint_confidence <= 1
        assert reading.language == "en"


@pytest.mark.django_db
def test_pipeline_stores_the_models_labels_and_routes_on_them(model_engine):
    items = [
        {"source": "x", "external_id": "m1", "posted_at": POSTED, "author_handle": "lena",
         "text": "@united my flight was cancelled and the rebooking line has been on hold for 3 hours"},
        {"source": "x", "external_id": "m2", "posted_at": POSTED, "author_handle": "omar",
         "text": "@united the crew on UA 88 were wonderful, thank you!"},
    ]
    ids = [mention_id for mention_id, _ in store_mentions(items, enqueue=False)]
    assert process_mentions(mention_ids=ids) == 2
    cancelled, thanks = Mention.objects.filter(pk__in=ids).order_by("external_id")
    assert cancelled.status == thanks.status == MentionStatus.PROCESSED
    assert cancelled.model_version.startswith("understanding-")
    assert cancelled.is_complaint and cancelled.case.department.slug == "service"
    assert cancelled.promise is not None and cancelled.promise.slug in {"flights_operate", "helpful_service", "on_time"}
    assert thanks.sentiment_label == "positive" and not thanks.is_complaint
    assert thanks.case.department.slug in {"marketing", "hr"}
