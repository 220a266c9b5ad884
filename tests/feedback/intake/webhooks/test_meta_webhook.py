"""Meta (Facebook Page, Instagram) deliveries: comments become mentions; edits, removals, brand replies."""

import json
from datetime import UTC, datetime

import pytest

from feedback.cases.models import CaseEvent
from feedback.choices import EventKind, MentionStatus
from feedback.intake.models import InboundPayload, Mention

from .conftest import META_URL, fixture_bytes, fixture_json, meta_signature

pytestmark = pytest.mark.django_db

COMMENT_ID = "412233445566778_998877665544332"
POST_ID = "104729845923671_412233445566778"


def test_a_page_comment_is_stored_and_processed(deliver_meta):
    body = fixture_bytes("meta/page_feed_comment_add.json")
    response = deliver_meta(body)

    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert (payload.channel, payload.status, payload.verified) == ("meta", "processed", True)
    assert payload.headers["X-Hub-Signature-256"] == meta_signature(body)
    mention = Mention.objects.get()
    assert (mention.source, mention.external_id, mention.parent_external_id) == ("facebook", COMMENT_ID, POST_ID)
    assert mention.text.startswith("Three hours on the tarmac in Munich")
    assert (mention.author_handle, mention.author_name) == ("7390012345678901", "Olivia Brandt")
    assert mention.posted_at == datetime(2026, 11, 18, 9, 12, 44, tzinfo=UTC)
    assert mention.url == "https://www.facebook.com/104729845923671/posts/412233445566778"
    assert mention.raw["value"]["verb"] == "add"
    assert mention.status == MentionStatus.PROCESSED
    assert mention.case.department.slug == "service"  # a complaint about a delay
    assert list(mention.case.mentions.all()) == [mention]


def test_an_edit_updates_the_text_and_keeps_the_previous_one(deliver_meta):
    deliver_meta(fixture_bytes("meta/page_feed_comment_add.json"))
    original = Mention.objects.get().text
    edit = fixture_bytes("meta/page_feed_comment_edited.json")
    deliver_meta(edit)
    deliver_meta(edit)  # retried: no second history entry

    mention = Mention.objects.get()
    assert mention.text.startswith("Four hours on the tarmac")
    assert mention.edited_at == datetime.fromtimestamp(1794994200, tz=UTC)
    assert [entry["text"] for entry in mention.raw["history"]] == [original]
    results = list(InboundPayload.objects.order_by("id").values_list("result", flat=True))
    assert results[1:] == [{"mentions_edited": 1}, {"edits_unchanged": 1}]


def test_an_edit_of_a_comment_never_seen_stores_the_edited_text(deliver_meta):
    deliver_meta(fixture_bytes("meta/page_feed_comment_edited.json"))
    mention = Mention.objects.get()
    assert mention.text.startswith("Four hours on the tarmac")
    assert mention.edited_at == datetime.fromtimestamp(1794994200, tz=UTC)  # the entry's time
    assert "history" not in mention.raw  # nothing was replaced
    assert mention.parent_external_id == POST_ID
    assert InboundPayload.objects.get().result == {"edits_stored_as_new": 1}


def test_a_removal_marks_the_mention_removed(deliver_meta):
    deliver_meta(fixture_bytes("meta/page_feed_comment_add.json"))
    deliver_meta(fixture_bytes("meta/page_feed_comment_remove.json"))
    mention = Mention.objects.get()
    assert mention.removed_at == datetime.fromtimestamp(1794997800, tz=UTC)
    assert mention.text.startswith("Three hours on the tarmac")  # kept for the record
    assert InboundPayload.objects.order_by("id").last().result == {"mentions_removed": 1}


def test_the_page_answering_a_comment_is_a_reply_on_its_case(deliver_meta):
    deliver_meta(fixture_bytes("meta/page_feed_comment_add.json"))
    case = Mention.objects.get().case
    deliver_meta(fixture_bytes("meta/page_feed_brand_reply.json"))

    assert Mention.objects.count() == 1
    reply = CaseEvent.objects.get(case=case, kind=EventKind.REPLY)
    assert reply.actor is None
    assert (reply.data["via"], reply.data["source"]) == ("channel", "facebook")
    assert reply.data["external_id"] == "412233445566778_998877665544999"
    assert reply.data["text"].startswith("Olivia, we're very sorry")
    case.refresh_from_db()
    assert case.first_replied_at == datetime.fromtimestamp(1794994810, tz=UTC)


def test_an_instagram_comment_is_an_instagram_mention(deliver_meta, ig_account):
    body = fixture_bytes("meta/instagram_comments.json")
    response = deliver_meta(body, url="/hooks/meta/skyjet-ig/")
    assert response.status_code == 200
    mention = Mention.objects.get()
    assert (mention.source, mention.external_id) == ("instagram", "17865799348089039")
    assert mention.parent_external_id == "17865799348089001"
    assert (mention.author_handle, mention.author_name) == ("wanderlust.jules", "wanderlust.jules")
    assert mention.text == "@skyjet the new Porto route is amazing, the crew were so friendly! 😍✈️"
    assert mention.posted_at == datetime.fromtimestamp(1794999000, tz=UTC)
    assert mention.intent == "praise"


def test_reactions_are_acknowledged_but_are_not_mentions(deliver_meta):
    assert deliver_meta(fixture_bytes("meta/page_feed_reaction.json")).status_code == 200
    assert InboundPayload.objects.get().result == {"ignored:feed:reaction": 1}
    assert not Mention.objects.exists()


def test_a_bad_or_missing_signature_is_refused_and_kept(deliver, fb_account):
    body = fixture_bytes("meta/page_feed_comment_add.json")
    bad = deliver(META_URL, body, headers={"X-Hub-Signature-256": meta_signature(body, "another-app-secret")})
    sha1_only = deliver(META_URL, body, headers={"X-Hub-Signature": "sha1=0123456789abcdef"})
    assert (bad.status_code, sha1_only.status_code) == (403, 401)
    assert sorted(InboundPayload.objects.values_list("reason", flat=True)) == ["bad_signature", "missing_signature"]
    assert not Mention.objects.exists()


def test_an_unknown_shape_is_200_and_quarantined(deliver_meta):
    body = json.dumps({"object": "user", "entry": [{"id": "1", "changes": []}]}).encode()
    response = deliver_meta(body)
    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason, payload.verified) == ("quarantined", "unknown_shape", True)
    assert "'user'" in payload.detail


def test_a_batch_with_several_entries_and_changes(deliver_meta, ig_account):
    page = fixture_json("meta/page_feed_comment_add.json")
    second = json.loads(json.dumps(page["entry"][0]))
    second["changes"][0]["value"]["comment_id"] = "412233445566778_111"
    second["changes"][0]["value"]["message"] = "Also: the lounge in Munich was closed 😤"
    page["entry"].append(second)
    page["entry"][0]["changes"].append(fixture_json("meta/page_feed_reaction.json")["entry"][0]["changes"][0])
    deliver_meta(json.dumps(page, ensure_ascii=False).encode())
    assert InboundPayload.objects.get().result == {"mentions_created": 2, "ignored:feed:reaction": 1}
    assert Mention.objects.get(external_id="412233445566778_111").text == "Also: the lounge in Munich was closed 😤"
