"""The default understanding: the learned model (feedback/understanding/) in the default profile,
the fast model, on real posts, in the pipeline, and held to its own cross-validated scores."""

from datetime import UTC, datetime

import pytest

from feedback.choices import MentionStatus
from feedback.intake.ingest import store_mentions
from feedback.intake.models import Mention
from feedback.pipeline import process_mentions
from feedback.understanding.adapter import understand_texts

POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_the_model_labels_real_posts():
    complaint, praise, spam = understand_texts([
        "@united you lost my bag again and nobody at the desk will help, third time this month",
        "@VirginAmerica thank you so much, the crew on VX 112 was amazing!",
        "Check out my channel and subscribe to win a free iPhone http://bit.ly/xyz",
    ])
    assert complaint.model_version.startswith("understanding-4-fast+"), "the default profile: the fast model"
    assert (complaint.sentiment_label, complaint.is_complaint, complaint.intent) == ("negative", True, "complaint")
    assert complaint.promise == "bags_arrive"
    assert complaint.assessment == "rectify"
    assert (praise.sentiment_label, praise.is_complaint, praise.assessment) == ("positive", False, "concur")
    assert spam.is_spam
    for reading in (complaint, praise, spam):
        assert 0 <= reading.intent_confidence <= 1 and 0 <= reading.complaint_confidence <= 1
        assert reading.language == "en"


@pytest.mark.django_db
def test_pipeline_stores_the_models_labels_and_routes_on_them():
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


# 5-fold CV of the default model on the shipped data, as `train_understanding` prints it
# (feedback/understanding/README.md), less about 0.03: a change that costs more than that fails here.
FLOORS = {
    ("is_complaint", "macro_f1"): 0.81,  # measured 0.836
    ("sentiment", "accuracy"): 0.80,  # 0.823
    ("sentiment", "macro_f1"): 0.74,  # 0.766
    ("promise", "macro_f1"): 0.57,  # 0.594
    ("is_spam", "accuracy"): 0.94,  # 0.967
    ("intent", "accuracy"): 0.72,  # 0.746
    ("intent", "macro_f1"): 0.63,  # 0.661
}


@pytest.mark.slow
def test_the_default_model_holds_its_cross_validated_scores():
    from feedback.understanding import collect_examples, cross_validate
    from feedback.understanding.config import default_config

    config = default_config()
    assert config["embeddings"] is None, "the suite runs the default profile"
    scores = cross_validate(collect_examples(include_shipped=True), folds=5, config=config)
    below = {f"{label} {metric}": scores[label][metric] for (label, metric), floor in FLOORS.items()
             if scores[label][metric] < floor}
    assert not below, f"under the floors {FLOORS}: {below}"
