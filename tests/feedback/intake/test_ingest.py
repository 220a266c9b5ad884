from datetime import UTC, datetime

import pytest

from feedback.intake.ingest import store_mention, store_mentions
from feedback.intake.models import Mention
from tests.concurrency import run_at_once

POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _item(external_id, text="@airline hello", **extra):
    return {"source": "x", "external_id": external_id, "text": text, "posted_at": POSTED,
            "author_handle": "dana", **extra}


@pytest.mark.django_db
def test_batch_reports_created_and_duplicates_in_order(django_capture_on_commit_callbacks):
    store_mention(enqueue=False, **_item("a"))
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = store_mentions([_item("b"), _item("a"), _item("c"), _item("b")], enqueue=True)
    created = [was_created for _, was_created in outcome]
    assert created == [True, False, True, False]
    assert outcome[0][0] == outcome[3][0]
    assert Mention.objects.count() == 3
    assert len(callbacks) == 1  # one enqueue for the batch's new mentions


@pytest.mark.django_db
def test_repeat_returns_the_stored_mention_untouched():
    first, created = store_mention(enqueue=False, **_item("1", text="original"))
    again, created_again = store_mention(enqueue=False, **_item("1", text="changed"))
    assert created and not created_again
    assert again.pk == first.pk
    assert again.text == "original"


@pytest.mark.django_db
def test_emoji_and_right_to_left_text_round_trip():
    text = "@airline ✈️😡 رحلتي تأخرت مرة أخرى — הטיסה שלי בוטלה 🧳"
    mention, _ = store_mention(enqueue=False, **_item("rtl", text=text, author_name="سارة", raw={"note": "😀"}))
    mention.refresh_from_db()
    assert mention.text == text
    assert mention.author_name == "سارة"
    assert mention.raw == {"note": "😀"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_mention_store_one_row():
    outcomes, errors = run_at_once(lambda: store_mention(enqueue=False, **_item("same"))[1], 6)
    assert not errors
    assert Mention.objects.filter(source="x", external_id="same").count() == 1
    assert sorted(outcomes) == [False] * 5 + [True]
