"""VADER sentiment labels and keyword intents of the rules engine (feedback/understanding/rules.py). No database needed."""

import pytest

from feedback.choices import Intent, Sentiment
from feedback.understanding.adapter import understand_text
from feedback.understanding.rules import sentiment_label

pytestmark = pytest.mark.rules_engine  # rules-1's sentiment and keyword intents


@pytest.mark.parametrize(
    ("compound", "label"),
    [
        (-1.0, Sentiment.NEGATIVE),
        (-0.0501, Sentiment.NEGATIVE),
        (-0.05, Sentiment.NEUTRAL),  # the threshold itself is neutral
        (0.0, Sentiment.NEUTRAL),
        (0.05, Sentiment.NEUTRAL),
        (0.0501, Sentiment.POSITIVE),
        (1.0, Sentiment.POSITIVE),
    ],
)
def test_sentiment_label_thresholds(compound, label):
    assert sentiment_label(compound) == label


def test_vader_scores_real_posts_and_labels_them():
    angry = understand_text("@SkyJet delayed 5 hours, lost my bag and the staff were rude. Worst airline ever.")
    happy = understand_text("@SkyJet huge thanks to the crew on flight 212, amazing service!")
    flat = understand_text("@SkyJet flying to Boston tomorrow")
    assert angry.sentiment < -0.5 and angry.sentiment_label == Sentiment.NEGATIVE
    assert happy.sentiment > 0.5 and happy.sentiment_label == Sentiment.POSITIVE
    assert flat.sentiment == 0.0 and flat.sentiment_label == Sentiment.NEUTRAL
    # A barely negative post falls just under the -0.05 line.
    meh = understand_text("meh")
    assert -0.1 < meh.sentiment < -0.05 and meh.sentiment_label == Sentiment.NEGATIVE


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # complaint: keywords, and a strongly negative post without any keyword
        ("@SkyJet my flight to Denver has been delayed 5 hours and nobody at the gate tells us anything", Intent.COMPLAINT),
        ("@SkyJet lost my luggage in Frankfurt and I'm still waiting for news", Intent.COMPLAINT),
        ("@SkyJet your app is not working, I can't check in", Intent.COMPLAINT),
        ("@SkyJet missed my connection because the crew showed up late. Horrible, just horrible.", Intent.COMPLAINT),
        # question
        ("@SkyJet what is the baggage allowance on international flights?", Intent.QUESTION),
        ("@SkyJet can I bring my guitar as a carry-on", Intent.QUESTION),
        # praise
        ("@SkyJet huge thanks to the crew on flight 212, amazing service and a smooth landing!", Intent.PRAISE),
        ("Shout out to Maria at the SkyJet desk in Lisbon, she was so helpful", Intent.PRAISE),
        # idea
        ("@SkyJet you should add more vegetarian meals on long-haul flights", Intent.IDEA),
        ("@SkyJet it would be great if the app showed the gate number earlier", Intent.IDEA),
        # purchase intent
        ("@SkyJet how much is a business class upgrade to London?", Intent.PURCHASE_INTENT),
        ("@SkyJet looking to book a family trip to Orlando in March, any deals?", Intent.PURCHASE_INTENT),
        # warranty / return
        ("@SkyJet I want a refund for my cancelled flight", Intent.WARRANTY_RETURN),
        ("@KettleCo the lid broke after two weeks, is it covered by the warranty?", Intent.WARRANTY_RETURN),
        # press
        ("Hi @SkyJet, I'm a reporter at the Daily Herald writing a story on summer delays. Available for comment?",
         Intent.PRESS),
        ("@SkyJet journalist here: who is your press contact for the strike?", Intent.PRESS),
        # spam / troll
        ("check out my channel for free followers!! subscribe to my page", Intent.SPAM_TROLL),
        ("Make money from home, click this link now", Intent.SPAM_TROLL),
        # other: not about anything we act on
        ("@SkyJet flying to Boston tomorrow", Intent.OTHER),
        ("just landed in Boston", Intent.OTHER),
    ],
)
def test_keyword_intents(text, intent):
    assert understand_text(text).intent == intent


def test_first_matching_rule_wins():
    # A refund request that is also a complaint goes to after-sales (warranty_return comes first).
    assert understand_text("@SkyJet my flight was cancelled and I want my money back").intent == Intent.WARRANTY_RETURN
    # A journalist asking about a delay is press, not a complaint.
    assert understand_text("Reporter at the Herald: why the delay in Denver today?").intent == Intent.PRESS
    # Spam that happens to praise is still spam.
    assert understand_text("Love this airline! check out my travel vlog").intent == Intent.SPAM_TROLL


def test_intents_are_case_insensitive():
    assert understand_text("@SKYJET I WANT A REFUND").intent == Intent.WARRANTY_RETURN
    assert understand_text("YOU SHOULD OFFER WIFI ON EVERY FLIGHT").intent == Intent.IDEA
