"""Understanding: what a post says, as labels with confidences (the Django side).

`understand_texts` is the adapter the pipeline calls, once per batch; `understand_text` is the
same for one text. settings.BATON_UNDERSTANDING_ENGINE chooses the engine: "model" (the learned
model of this package, the default) or "rules" (rules-1: rules.py). The `Understanding`
dataclass is the stable interface; `assess` gives the domain's Assessment choice.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from feedback.choices import Assessment
from feedback.understanding import assessment as text_rules
from feedback.understanding import load_default, rules
from feedback.understanding.assessment import is_misguided, is_rant  # noqa: F401 - part of this module's interface
from feedback.understanding.language import UNDETERMINED
from feedback.understanding.promises import PromiseVocabulary, default_vocabulary
from feedback.understanding.rules import MODEL_VERSION, PromiseMatcher  # noqa: F401 - MODEL_VERSION: interface


@dataclass(frozen=True)
class Understanding:
    sentiment: float
    sentiment_label: str
    sentiment_confidence: float
    intent: str
    intent_confidence: float
    is_complaint: bool
    complaint_confidence: float
    promise: str | None  # a promise slug
    promise_confidence: float
    is_spam: bool
    spam_confidence: float
    language: str  # ISO 639 code, "und" when undetermined
    assessment: str
    model_version: str


def assess(*, sentiment_label: str, intent: str, is_complaint: bool, is_spam: bool, about_us: bool = True,
           rant: bool = False, misguided: bool = False) -> str:
    """The response recommendation of the domain guide: `feedback.understanding.assessment.assess`,
    the one implementation (the model package is Django-free and uses it too)."""
    return Assessment(text_rules.assess(
        sentiment=sentiment_label, intent=intent, is_complaint=is_complaint, is_spam=is_spam, about_us=about_us,
        rant=rant, misguided=misguided,
    ))


def assess_text(text: str, *, sentiment_label: str, intent: str, is_complaint: bool, is_spam: bool) -> str:
    """`assess` with the rant and rumour signals read from the text (also used after a correction)."""
    return assess(sentiment_label=sentiment_label, intent=intent, is_complaint=is_complaint, is_spam=is_spam,
                  rant=is_rant(text), misguided=is_misguided(text))


ENGINES = ("model", "rules")


def understand_texts(texts: list[str], *, promises: Sequence[PromiseVocabulary] | None = None,
                     engine: str | None = None) -> list[Understanding]:
    """Understand a batch of texts.

    `promises` is the vocabulary to match promises against: the pipeline passes the active
    Promise rows (`promises.active_vocabulary()`, loaded once per batch). Without it, Baton's
    default promises are used, so this function never reads the database itself.
    `engine`: "model" (the learned model of feedback/understanding/, the default) or "rules"
    (rules-1, rules.py); settings.BATON_UNDERSTANDING_ENGINE chooses when not given.
    """
    engine = engine or settings.BATON_UNDERSTANDING_ENGINE
    if engine not in ENGINES:
        raise ValueError(f"Unknown understanding engine {engine!r}; use one of {', '.join(ENGINES)}.")
    matcher = rules.promise_matcher(tuple(default_vocabulary() if promises is None else promises))
    if engine == "model":
        return _understand_with_model(texts, matcher)
    return [Understanding(**{**reading, "assessment": Assessment(reading["assessment"])})
            for reading in rules.label_texts(texts, matcher)]


def _understand_with_model(texts: list[str], matcher: PromiseMatcher) -> list[Understanding]:
    """The learned model's labels. Its promises are the airline's nine slugs: one that is not an
    active promise here is dropped, and the company's own promises are matched by their phrases."""
    if not texts:
        return []
    active = set(matcher.slugs.values())
    results = []
    for text, labels in zip(texts, load_default().predict([text or "" for text in texts]), strict=True):
        promise, promise_confidence = labels["promise"]["label"], labels["promise"]["confidence"]
        if promise not in active:
            promise = matcher.match(text or "")
            promise_confidence = rules.PROMISE_CONFIDENCE if promise else 0.0
        results.append(Understanding(
            sentiment=labels["sentiment"]["compound"],
            sentiment_label=labels["sentiment"]["label"],
            sentiment_confidence=labels["sentiment"]["confidence"],
            intent=labels["intent"]["label"], intent_confidence=labels["intent"]["confidence"],
            is_complaint=labels["is_complaint"]["label"], complaint_confidence=labels["is_complaint"]["confidence"],
            promise=promise, promise_confidence=promise_confidence,
            is_spam=labels["is_spam"]["label"], spam_confidence=labels["is_spam"]["confidence"],
            language=labels["language"]["label"] or UNDETERMINED,
            assessment=labels["assessment"]["label"],
            model_version=labels["version"],
        ))
    return results


def understand_text(text: str, *, promises: Sequence[PromiseVocabulary] | None = None,
                    engine: str | None = None) -> Understanding:
    return understand_texts([text], promises=promises, engine=engine)[0]
