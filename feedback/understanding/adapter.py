"""Understanding: what a post says, as labels with confidences.

`understand_texts` is the adapter the pipeline calls, once per batch; `understand_text` is the
same for one text. Version "rules-1" (this module): VADER sentiment, keyword intent, complaint
and spam rules, promise phrases, py3langid language, and the assessment derived from those by
the pure function `assess`. The learned model (feedback/understanding/) replaces the internals;
the `Understanding` dataclass is the stable interface.

Confidences of rules-1 are rough, fixed numbers per rule (a keyword rule is surer than a
fallback); they are there so the portal can show them and the learned model can replace them.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from feedback.choices import Assessment, Intent, Sentiment
from feedback.understanding import assessment as text_rules
from feedback.understanding import load_default  # scikit-learn loads only inside it, where it is used
from feedback.understanding.assessment import is_misguided, is_rant  # noqa: F401 - part of this module's interface
from feedback.understanding.language import UNDETERMINED, detect_many  # one language identification for both engines
from feedback.understanding.promises import PromiseVocabulary, default_vocabulary

MODEL_VERSION = "rules-1"

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment_label(compound: float) -> str:
    if compound < NEGATIVE_BELOW:
        return Sentiment.NEGATIVE
    if compound > POSITIVE_ABOVE:
        return Sentiment.POSITIVE
    return Sentiment.NEUTRAL


def _words(*phrases: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")", re.IGNORECASE)


# Ordered: the first rule that matches wins.
_RULES: list[tuple[str, re.Pattern]] = [
    (
        Intent.SPAM_TROLL,
        _words(r"check out my", r"subscribe to my", r"follow me", r"visit my (?:site|channel|page)", r"free followers",
               r"click (?:here|this link)", r"make money", r"earn \$"),
    ),
    (
        Intent.PRESS,
        _words(r"journalist", r"reporter", r"writing (?:a|an) (?:piece|story|article)", r"press (?:office|team|contact)",
               r"media (?:enquiry|inquiry|contact)", r"for comment", r"PR (?:dept|department|team)"),
    ),
    (
        Intent.WARRANTY_RETURN,
        _words(r"refund", r"warranty", r"return(?:ing)? (?:it|my|the|this)", r"replacement", r"money back",
               r"exchange (?:it|my|the)", r"reimburse", r"compensat"),
    ),
    (
        Intent.PURCHASE_INTENT,
        _words(r"how much (?:is|are|does|for)", r"price (?:of|for)", r"want to (?:buy|book|purchase|upgrade)",
               r"(?:looking|planning) to (?:buy|book|fly)", r"any (?:deals|discounts|promo)", r"where can i buy",
               r"sign(?:ing)? up for", r"interested in (?:buying|booking|your)"),
    ),
    (
        Intent.IDEA,
        _words(r"you should", r"suggestion", r"would be (?:nice|great|cool) if", r"feature request", r"why not (?:add|offer)",
               r"please (?:add|bring back|consider)", r"i wish you", r"it would help if"),
    ),
    (
        Intent.COMPLAINT,
        _words(r"delay", r"cancel+ed", r"lost (?:my|our|luggage|bag)", r"still (?:waiting|no|not|haven)", r"never (?:again|arrived|got)",
               r"worst", r"waiting", r"broken", r"rude", r"terrible", r"awful", r"unacceptable", r"disappoint",
               r"doesn.?t work", r"not working", r"stuck", r"missed (?:my|our) (?:flight|connection)", r"on hold"),
    ),
]
_QUESTION = re.compile(
    r"\?|^\s*(?:@\w+\s+)*(?:who|what|when|where|why|how|can|could|do|does|is|are|will|would)\b", re.IGNORECASE
)
_THANKS = _words(r"thank", r"thx", r"love", r"great", r"awesome", r"amazing", r"best", r"kudos", r"shout ?out")


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


def _classify_intent(text: str, compound: float) -> tuple[str, float]:
    for intent, pattern in _RULES:
        if pattern.search(text):
            return intent, 0.7
    if compound <= -0.5 and not is_rant(text):  # angry without a keyword; a rant or a joke is no complaint
        return Intent.COMPLAINT, 0.55
    if _QUESTION.search(text):
        return Intent.QUESTION, 0.6
    if compound >= 0.3 or (compound > POSITIVE_ABOVE and _THANKS.search(text)):
        return Intent.PRAISE, 0.6
    return Intent.OTHER, 0.35


def classify_intent(text: str, compound: float) -> str:
    return _classify_intent(text, compound)[0]


def sentiment_confidence(compound: float) -> float:
    """Rough: the further from the neutral band, the surer (VADER alone is right about half the time
    on airline tweets, so it never claims more than 0.8)."""
    label = sentiment_label(compound)
    if label == Sentiment.NEUTRAL:
        return 0.5 if compound else 0.55
    return round(0.4 + 0.4 * abs(compound), 3)


_COMPLAINT_WORDS = dict(_RULES)[Intent.COMPLAINT]
_SPAM_WORDS = dict(_RULES)[Intent.SPAM_TROLL]


def classify_complaint(text: str, compound: float, intent: str) -> tuple[bool, float]:
    """A complaint is a breach of expectation (something went wrong), not merely a negative tone:
    complaint keywords count whatever the intent (a refund asked for a cancelled flight is one)."""
    if intent == Intent.SPAM_TROLL:
        return False, 0.7
    if _COMPLAINT_WORDS.search(text):
        return True, 0.75 if intent == Intent.COMPLAINT else 0.65
    if compound <= -0.5:
        # Strongly negative without any concrete breach: a complaint, unless it reads as a rant or a joke.
        return (False, 0.5) if is_rant(text) else (True, 0.55)
    if intent == Intent.PRAISE:
        return False, 0.75
    return False, 0.6


def classify_spam(text: str) -> tuple[bool, float]:
    if _SPAM_WORDS.search(text):
        return True, 0.8
    return False, 0.8


# --- Promise phrases --------------------------------------------------------------------


@dataclass(frozen=True)
class _PromiseMatcher:
    pattern: re.Pattern | None
    slugs: dict[str, str]  # normalised phrase -> slug

    def match(self, text: str) -> str | None:
        """The promise of the longest phrase found in the text (the earliest on a tie)."""
        if self.pattern is None:
            return None
        best = None
        for found in self.pattern.finditer(text):
            phrase = _normalise(found.group("phrase"))
            if best is None or len(phrase) > len(best):
                best = phrase
        return self.slugs.get(best) if best else None


def _normalise(phrase: str) -> str:
    return re.sub(r"\s+", " ", phrase.strip().lower())


@lru_cache(maxsize=8)
def _matcher(vocabulary: tuple[PromiseVocabulary, ...]) -> _PromiseMatcher:
    """One regex over every phrase, longest first, whole words with a plural or -ed/-ing ending.
    A phrase two promises share belongs to the first."""
    slugs: dict[str, str] = {}
    for promise in vocabulary:
        for phrase in promise.phrases:
            phrase = _normalise(phrase)
            if phrase:
                slugs.setdefault(phrase, promise.slug)
    if not slugs:
        return _PromiseMatcher(pattern=None, slugs={})
    alternatives = "|".join(
        r"\s+".join(map(re.escape, phrase.split(" "))) for phrase in sorted(slugs, key=len, reverse=True)
    )
    pattern = re.compile(rf"(?<!\w)(?P<phrase>{alternatives})(?:s|es|d|ed|ing)?(?!\w)", re.IGNORECASE)
    return _PromiseMatcher(pattern=pattern, slugs=slugs)


PROMISE_CONFIDENCE = 0.6


# --- Assessment -------------------------------------------------------------------------

def assess(*, sentiment_label: str, intent: str, is_complaint: bool, is_spam: bool, about_us: bool = True,
           rant: bool = False, misguided: bool = False) -> str:
    """The response recommendation of the domain guide: `feedback.understanding.text.assess`,
    the one implementation (the model package is Django-free and uses it too)."""
    return Assessment(text_rules.assess(
        sentiment=sentiment_label, intent=intent, is_complaint=is_complaint, is_spam=is_spam, about_us=about_us,
        rant=rant, misguided=misguided,
    ))


def assess_text(text: str, *, sentiment_label: str, intent: str, is_complaint: bool, is_spam: bool) -> str:
    """`assess` with the rant and rumour signals read from the text (also used after a correction)."""
    return assess(sentiment_label=sentiment_label, intent=intent, is_complaint=is_complaint, is_spam=is_spam,
                  rant=is_rant(text), misguided=is_misguided(text))


# --- The adapter ------------------------------------------------------------------------


ENGINES = ("model", "rules")


def understand_texts(texts: list[str], *, promises: Sequence[PromiseVocabulary] | None = None,
                     engine: str | None = None) -> list[Understanding]:
    """Understand a batch of texts.

    `promises` is the vocabulary to match promises against: the pipeline passes the active
    Promise rows (`promises.active_vocabulary()`, loaded once per batch). Without it, Baton's
    default promises are used, so this function never reads the database itself.
    `engine`: "model" (the learned model of feedback/understanding/, the default) or "rules"
    (rules-1 below); settings.BATON_UNDERSTANDING_ENGINE chooses when not given.
    """
    engine = engine or settings.BATON_UNDERSTANDING_ENGINE
    if engine not in ENGINES:
        raise ValueError(f"Unknown understanding engine {engine!r}; use one of {', '.join(ENGINES)}.")
    matcher = _matcher(tuple(default_vocabulary() if promises is None else promises))
    if engine == "model":
        return _understand_with_model(texts, matcher)
    return _understand_with_rules(texts, matcher)


def _understand_with_model(texts: list[str], matcher: "_PromiseMatcher") -> list[Understanding]:
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
            promise_confidence = PROMISE_CONFIDENCE if promise else 0.0
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


def _understand_with_rules(texts: list[str], matcher: "_PromiseMatcher") -> list[Understanding]:
    results = []
    texts = [text or "" for text in texts]
    for text, (language, _) in zip(texts, detect_many(texts), strict=True):
        compound = _vader().polarity_scores(text)["compound"]
        label = sentiment_label(compound)
        intent, intent_confidence = _classify_intent(text, compound)
        is_complaint, complaint_confidence = classify_complaint(text, compound, intent)
        is_spam, spam_confidence = classify_spam(text)
        promise = matcher.match(text)
        results.append(Understanding(
            sentiment=compound, sentiment_label=label, sentiment_confidence=sentiment_confidence(compound),
            intent=intent, intent_confidence=intent_confidence,
            is_complaint=is_complaint, complaint_confidence=complaint_confidence,
            promise=promise, promise_confidence=PROMISE_CONFIDENCE if promise else 0.0,
            is_spam=is_spam, spam_confidence=spam_confidence,
            language=language,
            assessment=assess_text(text, sentiment_label=label, intent=intent, is_complaint=is_complaint,
                                   is_spam=is_spam),
            model_version=MODEL_VERSION,
        ))
    return results


def understand_text(text: str, *, promises: Sequence[PromiseVocabulary] | None = None,
                    engine: str | None = None) -> Understanding:
    return understand_texts([text], promises=promises, engine=engine)[0]
