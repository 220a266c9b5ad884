"""Understanding, first version: VADER sentiment and keyword intent.

`understand_text` is the one entry point the pipeline calls; the learned model
(feedback/understanding/) replaces the keyword rules behind it.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from feedback.choices import Intent, Sentiment

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
    intent: str


def classify_intent(text: str, compound: float) -> str:
    for intent, pattern in _RULES:
        if pattern.search(text):
            return intent
    if compound <= -0.5:
        return Intent.COMPLAINT
    if _QUESTION.search(text):
        return Intent.QUESTION
    if compound >= 0.3 or (compound > POSITIVE_ABOVE and _THANKS.search(text)):
        return Intent.PRAISE
    return Intent.OTHER


def understand_text(text: str) -> Understanding:
    compound = _vader().polarity_scores(text)["compound"]
    return Understanding(
        sentiment=compound, sentiment_label=sentiment_label(compound), intent=classify_intent(text, compound)
    )
