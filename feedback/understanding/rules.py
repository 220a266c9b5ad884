"""The rules engine, version "rules-1": VADER sentiment, keyword intent, complaint and spam rules,
promise phrases, py3langid language, and the assessment derived from those (assessment.py).

Pure Python (no Django, no fitted state). `BATON_UNDERSTANDING_ENGINE=rules` serves it instead of
the learned model; the learned model also uses `promise_matcher` for a company's own promises.
Confidences are rough, fixed numbers per rule (a keyword rule is surer than a fallback).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from .assessment import assess, is_misguided, is_rant
from .language import detect_many

MODEL_VERSION = "rules-1"

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05
PROMISE_CONFIDENCE = 0.6


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment_label(compound: float) -> str:
    if compound < NEGATIVE_BELOW:
        return "negative"
    if compound > POSITIVE_ABOVE:
        return "positive"
    return "neutral"


def _words(*phrases: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")", re.IGNORECASE)


# Ordered: the first rule that matches wins.
_RULES: list[tuple[str, re.Pattern]] = [
    (
        "spam_troll",
        _words(r"check out my", r"subscribe to my", r"follow me", r"visit my (?:site|channel|page)", r"free followers",
               r"click (?:here|this link)", r"make money", r"earn \$"),
    ),
    (
        "press",
        _words(r"journalist", r"reporter", r"writing (?:a|an) (?:piece|story|article)", r"press (?:office|team|contact)",
               r"media (?:enquiry|inquiry|contact)", r"for comment", r"PR (?:dept|department|team)"),
    ),
    (
        "warranty_return",
        _words(r"refund", r"warranty", r"return(?:ing)? (?:it|my|the|this)", r"replacement", r"money back",
               r"exchange (?:it|my|the)", r"reimburse", r"compensat"),
    ),
    (
        "purchase_intent",
        _words(r"how much (?:is|are|does|for)", r"price (?:of|for)", r"want to (?:buy|book|purchase|upgrade)",
               r"(?:looking|planning) to (?:buy|book|fly)", r"any (?:deals|discounts|promo)", r"where can i buy",
               r"sign(?:ing)? up for", r"interested in (?:buying|booking|your)"),
    ),
    (
        "idea",
        _words(r"you should", r"suggestion", r"would be (?:nice|great|cool) if", r"feature request", r"why not (?:add|offer)",
               r"please (?:add|bring back|consider)", r"i wish you", r"it would help if"),
    ),
    (
        "complaint",
        _words(r"delay", r"cancel+ed", r"lost (?:my|our|luggage|bag)", r"still (?:waiting|no|not|haven)", r"never (?:again|arrived|got)",
               r"worst", r"waiting", r"broken", r"rude", r"terrible", r"awful", r"unacceptable", r"disappoint",
               r"doesn.?t work", r"not working", r"stuck", r"missed (?:my|our) (?:flight|connection)", r"on hold"),
    ),
]
_QUESTION = re.compile(
    r"\?|^\s*(?:@\w+\s+)*(?:who|what|when|where|why|how|can|could|do|does|is|are|will|would)\b", re.IGNORECASE
)
_THANKS = _words(r"thank", r"thx", r"love", r"great", r"awesome", r"amazing", r"best", r"kudos", r"shout ?out")
_COMPLAINT_WORDS = dict(_RULES)["complaint"]
_SPAM_WORDS = dict(_RULES)["spam_troll"]


def _classify_intent(text: str, compound: float) -> tuple[str, float]:
    for intent, pattern in _RULES:
        if pattern.search(text):
            return intent, 0.7
    if compound <= -0.5 and not is_rant(text):  # angry without a keyword; a rant or a joke is no complaint
        return "complaint", 0.55
    if _QUESTION.search(text):
        return "question", 0.6
    if compound >= 0.3 or (compound > POSITIVE_ABOVE and _THANKS.search(text)):
        return "praise", 0.6
    return "other", 0.35


def classify_intent(text: str, compound: float) -> str:
    return _classify_intent(text, compound)[0]


def sentiment_confidence(compound: float) -> float:
    """Rough: the further from the neutral band, the surer (VADER alone is right about half the time
    on airline tweets, so it never claims more than 0.8)."""
    if sentiment_label(compound) == "neutral":
        return 0.5 if compound else 0.55
    return round(0.4 + 0.4 * abs(compound), 3)


def classify_complaint(text: str, compound: float, intent: str) -> tuple[bool, float]:
    """A complaint is a breach of expectation (something went wrong), not merely a negative tone:
    complaint keywords count whatever the intent (a refund asked for a cancelled flight is one)."""
    if intent == "spam_troll":
        return False, 0.7
    if _COMPLAINT_WORDS.search(text):
        return True, 0.75 if intent == "complaint" else 0.65
    if compound <= -0.5:
        # Strongly negative without any concrete breach: a complaint, unless it reads as a rant or a joke.
        return (False, 0.5) if is_rant(text) else (True, 0.55)
    if intent == "praise":
        return False, 0.75
    return False, 0.6


def classify_spam(text: str) -> tuple[bool, float]:
    if _SPAM_WORDS.search(text):
        return True, 0.8
    return False, 0.8


# --- Promise phrases --------------------------------------------------------------------


@dataclass(frozen=True)
class PromiseMatcher:
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
def promise_matcher(vocabulary: tuple) -> PromiseMatcher:
    """One regex over every phrase of `vocabulary` (items with `.slug` and `.phrases`), longest
    first, whole words with a plural or -ed/-ing ending. A phrase two promises share belongs to
    the first."""
    slugs: dict[str, str] = {}
    for promise in vocabulary:
        for phrase in promise.phrases:
            phrase = _normalise(phrase)
            if phrase:
                slugs.setdefault(phrase, promise.slug)
    if not slugs:
        return PromiseMatcher(pattern=None, slugs={})
    alternatives = "|".join(
        r"\s+".join(map(re.escape, phrase.split(" "))) for phrase in sorted(slugs, key=len, reverse=True)
    )
    pattern = re.compile(rf"(?<!\w)(?P<phrase>{alternatives})(?:s|es|d|ed|ing)?(?!\w)", re.IGNORECASE)
    return PromiseMatcher(pattern=pattern, slugs=slugs)


# --- The engine -------------------------------------------------------------------------


def assess_text(text: str, *, sentiment: str, intent: str, is_complaint: bool, is_spam: bool) -> str:
    """`assessment.assess` with the rant and rumour signals read from the text."""
    return assess(sentiment=sentiment, intent=intent, is_complaint=is_complaint, is_spam=is_spam,
                  rant=is_rant(text), misguided=is_misguided(text))


def label_texts(texts: Sequence[str], matcher: PromiseMatcher) -> list[dict]:
    """rules-1's labels of each text, as dicts with the fields of the adapter's `Understanding`."""
    results = []
    texts = [text or "" for text in texts]
    for text, (language, _) in zip(texts, detect_many(texts), strict=True):
        compound = _vader().polarity_scores(text)["compound"]
        label = sentiment_label(compound)
        intent, intent_confidence = _classify_intent(text, compound)
        is_complaint, complaint_confidence = classify_complaint(text, compound, intent)
        is_spam, spam_confidence = classify_spam(text)
        promise = matcher.match(text)
        results.append({
            "sentiment": compound, "sentiment_label": label, "sentiment_confidence": sentiment_confidence(compound),
            "intent": intent, "intent_confidence": intent_confidence,
            "is_complaint": is_complaint, "complaint_confidence": complaint_confidence,
            "promise": promise, "promise_confidence": PROMISE_CONFIDENCE if promise else 0.0,
            "is_spam": is_spam, "spam_confidence": spam_confidence,
            "language": language,
            "assessment": assess_text(text, sentiment=label, intent=intent, is_complaint=is_complaint,
                                      is_spam=is_spam),
            "model_version": MODEL_VERSION,
        })
    return results
