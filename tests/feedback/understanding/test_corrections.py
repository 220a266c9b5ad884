"""A person's label corrections: the service, the case page (htmx and plain), permissions, the admin, and re-runs."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from config.errors import BatonError, NotAllowed
from feedback.cases.models import CaseEvent
from feedback.choices import Assessment, EventKind, Intent, Label, MentionStatus, Priority, Sentiment
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention
from feedback.pipeline import process_mention
from feedback.understanding.labels import correct_label, parse_label_value
from feedback.understanding.models import LabelCorrection, Promise
from feedback.understanding.promises import ensure_default_promises
from tests.factories import MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db

POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def promises():
    ensure_default_promises()


@pytest.fixture
def mention():
    """A real question about the baggage allowance, stored and processed as the worker would."""
    stored, _ = store_mention(source="x", external_id="q1", text="@airline what is the baggage allowance to Lisbon?",
                              posted_at=POSTED, author_handle="rita", author_followers=320, enqueue=False)
    process_mention(mention_id=stored.pk)
    stored.refresh_from_db()
    assert stored.intent == Intent.QUESTION and stored.case.department.slug == "service"
    return stored


# --- The service ------------------------------------------------------------------------------


def test_correction_writes_the_row_updates_the_label_and_the_timeline(mention, service_agent):
    old_confidence = mention.intent_confidence
    correction = correct_label(mention=mention, label=Label.INTENT, value="complaint", by=service_agent)
    mention.refresh_from_db()
    assert (mention.intent, mention.intent_confidence) == (Intent.COMPLAINT, 1.0)
    assert mention.corrected_labels == ["intent"]
    assert (correction.label, correction.old_value, correction.new_value) == ("intent", "question", "complaint")
    assert correction.old_confidence == old_confidence and correction.model_version == mention.model_version
    assert correction.model_version.startswith("understanding-"), "the learned model labelled it"
    assert correction.by == service_agent and correction.text == mention.text
    event = CaseEvent.objects.get(case=mention.case, kind=EventKind.NOTE)
    assert event.actor == service_agent
    assert event.data["text"] == "Corrected the intent of @rita's post: Question → Complaint."
    assert event.data["correction"] == {"id": correction.pk, "mention_id": mention.pk, "label": "intent",
                                        "from": "question", "to": "complaint"}


def test_derived_labels_follow_a_correction_unless_a_person_set_them(mention, service_agent):
    assert mention.assessment == Assessment.CONCUR and mention.priority == Priority.NORMAL
    correct_label(mention=mention, label=Label.SENTIMENT, value="negative", by=service_agent)
    mention.refresh_from_db()
    assert mention.assessment == Assessment.RECTIFY  # negative, an unhappy customer
    correct_label(mention=mention, label=Label.ASSESSMENT, value="fix_facts", by=service_agent)
    correct_label(mention=mention, label=Label.COMPLAINT, value="true", by=service_agent)
    mention.refresh_from_db()
    assert mention.assessment == Assessment.FIX_FACTS  # a person's assessment stays
    assert mention.is_complaint is True
    correct_label(mention=mention, label=Label.SPAM, value="true", by=service_agent)
    mention.refresh_from_db()
    assert mention.priority == Priority.LOW
    assert mention.corrected_labels == ["sentiment_label", "assessment", "is_complaint", "is_spam"]


def test_promise_and_language_corrections(mention, service_agent):
    correct_label(mention=mention, label=Label.PROMISE, value="bags_arrive", by=service_agent)
    correct_label(mention=mention, label=Label.LANGUAGE, value="PT", by=service_agent)
    mention.refresh_from_db()
    assert mention.promise == Promise.objects.get(slug="bags_arrive") and mention.promise_confidence == 1.0
    assert mention.language == "pt"
    correct_label(mention=mention, label=Label.PROMISE, value="", by=service_agent)
    mention.refresh_from_db()
    assert mention.promise is None
    assert list(LabelCorrection.objects.filter(label="promise").values_list("old_value", "new_value")) == [
        ("bags_arrive", ""), ("", "bags_arrive"),  # newest first
    ]


def test_a_confirmation_is_kept_too(mention, service_agent):
    correct_label(mention=mention, label=Label.INTENT, value="question", by=service_agent)
    mention.refresh_from_db()
    assert mention.corrected_labels == ["intent"] and mention.intent_confidence == 1.0
    assert CaseEvent.objects.get(case=mention.case, kind=EventKind.NOTE).data["text"].startswith("Confirmed the intent")


@pytest.mark.parametrize(
    ("label", "value", "field"),
    [
        ("intent", "angry", "value"),
        ("sentiment_label", "furious", "value"),
        ("is_complaint", "maybe", "value"),
        ("promise", "free_champagne", "value"),
        ("language", "english", "value"),
        ("assessment", "shout_back", "value"),
        ("priority", "urgent", "label"),  # computed, not a label a person corrects
    ],
)
def test_invalid_values_are_refused_and_nothing_changes(mention, service_agent, label, value, field):
    with pytest.raises(BatonError) as refused:
        correct_label(mention=mention, label=label, value=value, by=service_agent)
    assert field in refused.value.fields
    assert LabelCorrection.objects.count() == 0
    assert Mention.objects.get(pk=mention.pk).corrected_labels == []


def test_only_the_owning_department_may_correct(mention, sales_agent):
    with pytest.raises(NotAllowed):
        correct_label(mention=mention, label=Label.INTENT, value="complaint", by=sales_agent)
    assert LabelCorrection.objects.count() == 0


def test_reprocessing_never_overwrites_a_persons_label(mention, service_agent):
    correct_label(mention=mention, label=Label.INTENT, value="complaint", by=service_agent)
    correct_label(mention=mention, label=Label.PROMISE, value="helpful_service", by=service_agent)
    # Re-run understanding as a retry or a new model would: the mention goes back to `received`.
    Mention.objects.filter(pk=mention.pk).update(status=MentionStatus.RECEIVED)
    process_mention(mention_id=mention.pk)
    mention.refresh_from_db()
    assert mention.status == MentionStatus.PROCESSED
    assert mention.intent == Intent.COMPLAINT and mention.intent_confidence == 1.0
    assert mention.promise.slug == "helpful_service" and mention.promise_confidence == 1.0
    assert mention.sentiment_label == Sentiment.NEUTRAL  # not corrected: the model's again
    assert mention.assessment == Assessment.RECTIFY  # re-derived from the labels in force: the person's complaint
    assert mention.corrected_labels == ["intent", "promise"]


def test_parse_label_value_forms():
    assert parse_label_value("is_spam", True).text == "true"
    assert parse_label_value("is_complaint", "no").value is False
    assert parse_label_value("intent", "praise").display == "Praise"
    assert parse_label_value("language", " und ").value == "und"


# --- The case page ---------------------------------------------------------------------------


def _url(mention):
    return reverse("label-correct", args=[mention.case_id, mention.pk])


def test_case_page_shows_each_label_with_its_confidence_and_the_recommended_response(client, mention, service_agent):
    client.force_login(service_agent)
    page = client.get(reverse("case-detail", args=[mention.case_id])).content.decode()
    assert f'id="labels-{mention.pk}"' in page
    for name in ("Sentiment", "Intent", "Complaint", "Promise", "Spam / troll", "Language", "Assessment"):
        assert f'<span class="label-name">{name}</span>' in page
    assert 0 < mention.intent_confidence < 1  # the model's, not a person's
    assert f"{round(mention.intent_confidence * 100)}% sure" in page  # the intent: a question
    assert "Recommended response" in page and "Concur" in page
    assert "@rita has 320 followers." in page
    for consideration in ("Transparency", "Sourcing", "Timeliness", "Tone", "Influence"):
        assert f"<dt>{consideration}</dt>" in page


def test_htmx_correction_returns_the_panel_and_the_timeline_entry(client, mention, service_agent):
    client.force_login(service_agent)
    response = client.post(_url(mention), {"label": "intent", "value": "complaint"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="labels-{mention.pk}"' in html
    assert '<option value="complaint" selected>Complaint</option>' in html
    assert "✓ by a person" in html
    assert 'hx-swap-oob="afterbegin:#timeline-events"' in html and "Label corrected" in html
    assert f'id="chips-{mention.pk}"' in html
    mention.refresh_from_db()
    assert mention.intent == Intent.COMPLAINT and mention.corrected_labels == ["intent"]


def test_htmx_refused_value_is_shown_in_the_panel(client, mention, service_agent):
    client.force_login(service_agent)
    response = client.post(_url(mention), {"label": "intent", "value": "furious"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx only swaps 2xx answers
    assert "is not a valid intent" in response.content.decode()
    assert LabelCorrection.objects.count() == 0


def test_plain_post_redirects_back_to_the_mention(client, mention, service_agent):
    client.force_login(service_agent)
    response = client.post(_url(mention), {"label": "is_complaint", "value": "true"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('case-detail', args=[mention.case_id])}#mention-{mention.pk}"
    assert Mention.objects.get(pk=mention.pk).is_complaint is True


def test_another_departments_user_gets_404_and_nothing_changes(client, mention, sales_agent):
    client.force_login(sales_agent)
    response = client.post(_url(mention), {"label": "intent", "value": "complaint"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert LabelCorrection.objects.count() == 0


def test_a_mention_of_another_case_is_404(client, mention, service_agent):
    other, _ = store_mention(source="x", external_id="q2", text="@airline my flight is delayed", posted_at=POSTED,
                             author_handle="bob", enqueue=False)
    process_mention(mention_id=other.pk)
    other.refresh_from_db()
    client.force_login(service_agent)
    response = client.post(reverse("label-correct", args=[mention.case_id, other.pk]),
                           {"label": "intent", "value": "praise"})
    assert response.status_code == 404


def test_correction_needs_post_and_login(client, mention):
    assert client.get(_url(mention)).status_code in (302, 405)
    response = client.post(_url(mention), {"label": "intent", "value": "complaint"})
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --- The admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="ada", is_staff=True, is_superuser=True))
    return client


def _admin_form_data(mention, **extra):
    return {
        "source": mention.source, "external_id": mention.external_id, "author_handle": mention.author_handle,
        "author_name": mention.author_name, "author_followers": mention.author_followers or "",
        "text": mention.text, "url": mention.url, "posted_at_0": "2026-11-20", "posted_at_1": "09:00:00",
        "raw": "{}", "status": mention.status, "customer": mention.customer_id, "case": mention.case_id,
        "parent_external_id": "", "edited_at_0": "", "edited_at_1": "", "removed_at_0": "", "removed_at_1": "",
        "label_corrections-TOTAL_FORMS": "0", "label_corrections-INITIAL_FORMS": "0",
        "label_corrections-MIN_NUM_FORMS": "0", "label_corrections-MAX_NUM_FORMS": "1000",
        **extra,
    }


def test_admin_correction_goes_through_the_service(admin_client, mention):
    url = reverse("admin:feedback_mention_change", args=[mention.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "Correct a label" in page.content.decode()
    response = admin_client.post(url, _admin_form_data(mention, correct_label="intent", correct_value="idea"))
    assert response.status_code == 302, response.content.decode()[:3000]
    mention.refresh_from_db()
    assert mention.intent == Intent.IDEA and mention.corrected_labels == ["intent"]
    correction = LabelCorrection.objects.get()
    assert correction.by.username == "ada"
    assert CaseEvent.objects.filter(case=mention.case, kind=EventKind.NOTE, data__correction__id=correction.pk).exists()


def test_admin_refuses_a_bad_value(admin_client, mention):
    url = reverse("admin:feedback_mention_change", args=[mention.pk])
    response = admin_client.post(url, _admin_form_data(mention, correct_label="intent", correct_value="angry"))
    assert response.status_code == 200
    assert "is not a valid intent" in response.content.decode()
    assert LabelCorrection.objects.count() == 0


def test_admin_lists_corrections_and_promises(admin_client, mention, service_agent):
    correction = correct_label(mention=mention, label=Label.INTENT, value="complaint", by=service_agent)
    corrections = admin_client.get(reverse("admin:feedback_labelcorrection_changelist"))
    assert [row.pk for row in corrections.context["cl"].result_list] == [correction.pk]
    assert service_agent.username in corrections.content.decode()
    promises = admin_client.get(reverse("admin:feedback_promise_changelist"))
    assert {row.pk for row in promises.context["cl"].result_list} == set(Promise.objects.values_list("pk", flat=True))
    promise = Promise.objects.get(slug="on_time")
    page = admin_client.get(reverse("admin:feedback_promise_change", args=[promise.pk]))
    assert page.status_code == 200
    assert page.context["adminform"].form.instance == promise
    assert page.context["adminform"].form["slug"].value() == "on_time"


def test_a_member_of_two_departments_may_correct_both(mention):
    user = MembershipFactory(user=UserFactory(username="two"), department=department("sales")).user
    MembershipFactory(user=user, department=department("service"))
    correct_label(mention=mention, label=Label.INTENT, value="complaint", by=user)
    assert LabelCorrection.objects.filter(by=user).count() == 1


def test_corrections_become_training_examples(mention, service_agent):
    from feedback.understanding.labels import correction_examples

    correct_label(mention=mention, label=Label.INTENT, value="idea", by=service_agent)
    correct_label(mention=mention, label=Label.INTENT, value="complaint", by=service_agent)  # the latest wins
    correct_label(mention=mention, label=Label.COMPLAINT, value="true", by=service_agent)
    correct_label(mention=mention, label=Label.SENTIMENT, value="negative", by=service_agent)
    correct_label(mention=mention, label=Label.PROMISE, value="", by=service_agent)
    examples = correction_examples()
    assert {"text": mention.text, "intent": "complaint"} in examples
    assert {"text": mention.text, "is_complaint": True} in examples
    assert {"text": mention.text, "sentiment": "negative"} in examples
    assert {"text": mention.text, "promise": None} in examples
    assert len(examples) == 4
