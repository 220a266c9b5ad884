"""The labels understanding gives a mention, and a person's corrections of them.

`apply_understanding` puts a reading on a mention (the pipeline calls it); a label a person
corrected is listed in `Mention.corrected_labels` and never overwritten by it. `correct_label`
is the one way a person changes a label, from the case page or the admin: it writes a
LabelCorrection row (the audit trail and a training example), updates the mention, re-derives
what follows from the labels (assessment, priority) unless a person set those too, and writes a
note on the case timeline.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config.errors import BatonError, NotAllowed
from feedback.board import upkeep
from feedback.cases import events
from feedback.choices import Assessment, Intent, Label, Priority, Sentiment
from feedback.intake.models import Mention
from feedback.routing.services import score_priority
from feedback.understanding.adapter import UNDETERMINED, Understanding, assess_text
from feedback.understanding.models import LabelCorrection, Promise
from teams.selectors import department_ids_for

HUMAN_CONFIDENCE = 1.0

# The confidence field of each label; language and assessment keep none (rules-1 gives none).
CONFIDENCE_FIELDS = {
    Label.SENTIMENT: "sentiment_confidence",
    Label.INTENT: "intent_confidence",
    Label.COMPLAINT: "complaint_confidence",
    Label.PROMISE: "promise_confidence",
    Label.SPAM: "spam_confidence",
}
# What the assessment and the priority are derived from.
ASSESSMENT_INPUTS = {Label.SENTIMENT, Label.INTENT, Label.COMPLAINT, Label.SPAM}
PRIORITY_INPUTS = {Label.INTENT, Label.COMPLAINT, Label.SPAM}
_LANGUAGE = re.compile(r"^(?:[a-z]{2,3}|und)$")
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


# --- Values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelValue:
    """A label's value in its three forms: for the model field, for storage as text, for people."""

    value: object
    text: str
    display: str


def _choices_value(choices, raw, what: str) -> LabelValue:
    raw = str(raw or "").strip()
    if raw not in choices.values:
        raise BatonError(f"{raw!r} is not a valid {what}.", fields={"value": [f"Choose a {what}."]})
    return LabelValue(value=raw, text=raw, display=str(choices(raw).label))


def parse_label_value(label: str, raw) -> LabelValue:
    """Validate a person's value for a label. Raises BatonError with a `value` field message."""
    if label not in Label.values:
        raise BatonError(f"{label!r} is not a label a person can correct.", fields={"label": ["Choose a label."]})
    if label == Label.SENTIMENT:
        return _choices_value(Sentiment, raw, "sentiment")
    if label == Label.INTENT:
        return _choices_value(Intent, raw, "intent")
    if label == Label.ASSESSMENT:
        return _choices_value(Assessment, raw, "response assessment")
    if label in (Label.COMPLAINT, Label.SPAM):
        text = str(raw).strip().lower() if raw is not None else ""
        if isinstance(raw, bool):
            flag = raw
        elif text in _TRUE:
            flag = True
        elif text in _FALSE:
            flag = False
        else:
            raise BatonError(f"{raw!r} is neither yes nor no.", fields={"value": ["Choose yes or no."]})
        return LabelValue(value=flag, text="true" if flag else "false", display="Yes" if flag else "No")
    if label == Label.PROMISE:
        slug = str(raw or "").strip()
        if not slug:
            return LabelValue(value=None, text="", display="No promise")
        promise = Promise.objects.filter(slug=slug).first()
        if promise is None:
            raise BatonError(f"There is no promise {slug!r}.", fields={"value": ["Choose a promise."]})
        return LabelValue(value=promise, text=promise.slug, display=promise.name)
    code = str(raw or "").strip().lower()
    if not _LANGUAGE.match(code):
        raise BatonError(f"{raw!r} is not an ISO 639 language code.",
                         fields={"value": ["Use a two- or three-letter ISO 639 code, or und."]})
    return LabelValue(value=code, text=code, display=code)


def current_value(mention: Mention, label: str) -> LabelValue:
    """The mention's value of a label, in the same three forms (nothing yet: text "")."""
    if label == Label.PROMISE:
        promise = mention.promise
        return LabelValue(value=promise, text=promise.slug if promise else "",
                          display=promise.name if promise else "No promise")
    value = getattr(mention, label)
    if value is None or value == "":
        return LabelValue(value=value, text="", display="—")
    if isinstance(value, bool):
        return LabelValue(value=value, text="true" if value else "false", display="Yes" if value else "No")
    if label == Label.LANGUAGE:
        return LabelValue(value=value, text=value, display=value)
    choices = {Label.SENTIMENT: Sentiment, Label.INTENT: Intent, Label.ASSESSMENT: Assessment}[label]
    display = str(choices(value).label) if value in choices.values else value
    return LabelValue(value=value, text=str(value), display=display)


# --- The pipeline's side --------------------------------------------------------------------


def apply_understanding(*, mention: Mention, reading: Understanding, promise_ids: dict[str, int]) -> list[str]:
    """Put a reading on the mention (no save), except the labels a person corrected; re-derive the
    assessment from the labels in force when a person corrected one of its inputs. `promise_ids`
    maps the active promises' slugs to ids (a slug not in it: no promise). Returns the fields set."""
    corrected = set(mention.corrected_labels or [])
    mention.sentiment = reading.sentiment  # the score itself is always the model's
    mention.model_version = reading.model_version
    if Label.SENTIMENT not in corrected:
        mention.sentiment_label, mention.sentiment_confidence = reading.sentiment_label, reading.sentiment_confidence
    if Label.INTENT not in corrected:
        mention.intent, mention.intent_confidence = reading.intent, reading.intent_confidence
    if Label.COMPLAINT not in corrected:
        mention.is_complaint, mention.complaint_confidence = reading.is_complaint, reading.complaint_confidence
    if Label.SPAM not in corrected:
        mention.is_spam, mention.spam_confidence = reading.is_spam, reading.spam_confidence
    if Label.PROMISE not in corrected:
        mention.promise_id = promise_ids.get(reading.promise) if reading.promise else None
        mention.promise_confidence = reading.promise_confidence if mention.promise_id else 0.0
    if Label.LANGUAGE not in corrected:
        mention.language = reading.language or UNDETERMINED
    if Label.ASSESSMENT not in corrected:
        if corrected & ASSESSMENT_INPUTS:
            mention.assessment = _derived_assessment(mention)
        else:
            mention.assessment = reading.assessment
    return UNDERSTANDING_FIELDS


UNDERSTANDING_FIELDS = [
    "sentiment", "sentiment_label", "sentiment_confidence", "intent", "intent_confidence", "is_complaint",
    "complaint_confidence", "promise", "promise_confidence", "is_spam", "spam_confidence", "language", "assessment",
    "model_version",
]


def _derived_assessment(mention: Mention) -> str:
    return assess_text(mention.text, sentiment_label=mention.sentiment_label, intent=mention.intent,
                       is_complaint=bool(mention.is_complaint), is_spam=bool(mention.is_spam))


def mention_priority(mention: Mention) -> str:
    """The computed priority of a mention from its labels in force, its author's reach and its customer's value."""
    if mention.is_spam or mention.intent == Intent.SPAM_TROLL:
        return Priority.LOW
    customer_value = mention.customer.value if mention.customer_id else None
    return score_priority(intent=mention.intent, sentiment=mention.sentiment or 0.0,
                          followers=mention.author_followers, customer_value=customer_value,
                          is_complaint=bool(mention.is_complaint))


# --- A person's correction ------------------------------------------------------------------


def may_correct(*, user, mention: Mention) -> bool:
    """Members of the department that owns the mention's case, and admin users allowed to change mentions."""
    if user is None or not user.is_authenticated:
        return False
    if user.has_perm("feedback.change_mention"):
        return True
    return mention.case_id is not None and mention.case.department_id in department_ids_for(user=user)


def correct_label(*, mention: Mention, label: str, value, by, now: datetime | None = None) -> LabelCorrection:
    """A person sets one label of a mention. Also a confirmation when the value is unchanged:
    either way it is kept as a training example and never overwritten by a re-run."""
    now = now or timezone.now()
    new = parse_label_value(label, value)
    with transaction.atomic():
        mention = (
            Mention.objects.select_for_update(of=("self",))
            .select_related("case", "customer", "promise")
            .get(pk=mention.pk)
        )
        if not may_correct(user=by, mention=mention):
            raise NotAllowed("Only the team that owns this mention's case may correct its labels.")
        old = current_value(mention, label)
        confidence_field = CONFIDENCE_FIELDS.get(label)
        old_confidence = getattr(mention, confidence_field) if confidence_field else None
        changed = ["corrected_labels"]
        setattr(mention, label, new.value)
        changed.append(label)
        if confidence_field:
            setattr(mention, confidence_field, HUMAN_CONFIDENCE)
            changed.append(confidence_field)
        if label not in (mention.corrected_labels or []):
            mention.corrected_labels = [*(mention.corrected_labels or []), label]
        if label in ASSESSMENT_INPUTS and Label.ASSESSMENT not in mention.corrected_labels:
            mention.assessment = _derived_assessment(mention)
            changed.append("assessment")
        if label in PRIORITY_INPUTS and mention.priority:
            mention.priority = mention_priority(mention)
            changed.append("priority")
        mention.save(update_fields=changed)
        upkeep.touch_mentions(mentions=[mention])  # the board's rollups count the labels in force
        correction = LabelCorrection.objects.create(
            mention=mention, label=label, old_value=old.text, new_value=new.text, old_confidence=old_confidence,
            model_version=mention.model_version, text=mention.text, by=by, at=now,
        )
        if mention.case_id:
            name = Label(label).label.lower()
            author = f"@{mention.author_handle}'s post" if mention.author_handle else "the post"
            text = (
                f"Confirmed the {name} of {author}: {new.display}." if old.text == new.text
                else f"Corrected the {name} of {author}: {old.display} → {new.display}."
            )
            events.add(events.note(
                case=mention.case_id, text=text, actor=by, now=now,
                correction=events.Correction(id=correction.pk, mention_id=mention.pk, label=label, from_=old.text,
                                             to=new.text),
            ))
    return correction


# The model's name of each label (feedback.understanding uses "sentiment" for the three-way label).
_EXAMPLE_KEYS = {Label.SENTIMENT: "sentiment"}


def correction_examples(*, since: datetime | None = None) -> list[dict]:
    """People's labels as training examples, the latest value per (mention, label):
    [{"text": ..., "intent": "complaint"}, {"text": ..., "is_complaint": True}, ...]."""
    corrections = LabelCorrection.objects.order_by("mention_id", "label", "-at", "-id")
    if since is not None:
        corrections = corrections.filter(at__gte=since)
    examples, seen = [], set()
    for mention_id, label, value, text in corrections.values_list("mention_id", "label", "new_value", "text"):
        if (mention_id, label) in seen:
            continue
        seen.add((mention_id, label))
        parsed = {"true": True, "false": False}.get(value, value) if label in (Label.COMPLAINT, Label.SPAM) else value
        examples.append({"text": text, _EXAMPLE_KEYS.get(label, label): parsed if parsed != "" else None})
    return examples
