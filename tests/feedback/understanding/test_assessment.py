"""The response assessment (US Air Force web posting assessment) and the five considerations of a reply."""

from datetime import UTC, datetime, timedelta

import pytest

from feedback.choices import Assessment, ClockMetric, Intent, Sentiment
from feedback.understanding.adapter import assess, is_misguided, is_rant, understand_text
from feedback.understanding.selectors import response_guidance
from tests.factories import CaseFactory, MentionFactory, SlaClockFactory

NEG, NEU, POS = Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.POSITIVE


@pytest.mark.parametrize(
    ("sentiment", "intent", "complaint", "spam", "about_us", "rant", "misguided", "expected"),
    [
        # not about us -> ignore
        (NEU, Intent.SPAM_TROLL, False, True, True, False, False, Assessment.IGNORE),
        (POS, Intent.OTHER, False, True, True, False, False, Assessment.IGNORE),
        (NEU, Intent.OTHER, False, False, False, False, False, Assessment.IGNORE),
        # negative and a troll -> monitor only
        (NEG, Intent.SPAM_TROLL, False, True, True, False, False, Assessment.MONITOR_ONLY),
        (NEG, Intent.SPAM_TROLL, False, False, True, False, False, Assessment.MONITOR_ONLY),
        (NEG, Intent.OTHER, False, False, False, False, False, Assessment.IGNORE),  # negative, but not about us
        # positive -> concur
        (POS, Intent.PRAISE, False, False, True, False, False, Assessment.CONCUR),
        (POS, Intent.QUESTION, False, False, True, True, True, Assessment.CONCUR),
        # a complaint -> rectify, even in a positive (sarcastic) tone or a rant
        (POS, Intent.COMPLAINT, True, False, True, False, False, Assessment.RECTIFY),
        (NEG, Intent.COMPLAINT, True, False, True, True, True, Assessment.RECTIFY),
        (NEU, Intent.COMPLAINT, False, False, True, False, False, Assessment.RECTIFY),  # the intent alone counts
        # negative and a rager (rant, joke, satire) -> monitor only
        (NEG, Intent.OTHER, False, False, True, True, False, Assessment.MONITOR_ONLY),
        # misguided (repeats a claim) -> fix the facts, negative or neutral
        (NEG, Intent.QUESTION, False, False, True, False, True, Assessment.FIX_FACTS),
        (NEU, Intent.QUESTION, False, False, True, False, True, Assessment.FIX_FACTS),
        # negative, an unhappy customer -> rectify
        (NEG, Intent.OTHER, False, False, True, False, False, Assessment.RECTIFY),
        (NEG, Intent.QUESTION, False, False, True, False, False, Assessment.RECTIFY),
        # neutral, balanced -> concur (a factual, proactive reply)
        (NEU, Intent.QUESTION, False, False, True, False, False, Assessment.CONCUR),
        (NEU, Intent.OTHER, False, False, True, True, False, Assessment.CONCUR),  # a neutral joke is no rant
    ],
)
def test_assessment_rules(sentiment, intent, complaint, spam, about_us, rant, misguided, expected):
    assert assess(sentiment_label=sentiment, intent=intent, is_complaint=complaint, is_spam=spam, about_us=about_us,
                  rant=rant, misguided=misguided) == expected


@pytest.mark.parametrize(
    ("text", "rant", "misguided"),
    [
        ("lol this airline is a joke", True, False),
        ("WHY DOES THIS ALWAYS HAPPEN TO ME", True, False),
        ("worst week ever!!!", True, False),
        ("I heard you now charge for carry-ons?", False, True),
        ("Is it true that pets fly free?", False, True),
        ("My flight was delayed by two hours", False, False),
        ("OK", False, False),  # too short to be shouting
    ],
)
def test_rant_and_rumour_signals(text, rant, misguided):
    assert is_rant(text) is rant
    assert is_misguided(text) is misguided


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@SkyJet my flight was cancelled and nobody helps, unacceptable", Assessment.RECTIFY),
        ("@SkyJet thank you for the upgrade, lovely crew!", Assessment.CONCUR),
        ("@SkyJet is it true you charge $200 for a carry-on now? what a scam", Assessment.FIX_FACTS),
        ("@SkyJet lol your ads are so bad, just stop", Assessment.MONITOR_ONLY),
        ("click here to make money fast http://spam.example", Assessment.IGNORE),
    ],
)
def test_assessment_of_real_shaped_posts(text, expected):
    assert understand_text(text).assessment == expected


# --- The five considerations ------------------------------------------------------------------

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_guidance_gives_concrete_advice_for_each_consideration():
    case = CaseFactory(created_at=NOW - timedelta(minutes=30))
    mention = MentionFactory(case=case, author_handle="ritaflies", author_followers=25_300, language="es",
                             assessment=Assessment.RECTIFY, posted_at=NOW - timedelta(minutes=31))
    clock = SlaClockFactory(case=case, metric=ClockMetric.FIRST_REPLY, started_at=case.created_at,
                            due_at=NOW + timedelta(minutes=90), warn_at=NOW + timedelta(minutes=60))
    guidance = response_guidance(mention=mention, case=case, clocks=[clock], now=NOW)
    assert (guidance.assessment, guidance.title, guidance.replies) == (Assessment.RECTIFY, "Rectify", True)
    advice = dict(guidance.considerations)
    assert list(advice) == ["Transparency", "Sourcing", "Timeliness", "Tone", "Influence"]
    assert "Customer service" in advice["Transparency"]
    assert "private message" in advice["Sourcing"]
    assert advice["Timeliness"].startswith("First reply due in 1h 30m")
    assert "sorry" in advice["Tone"] and "Spanish" in advice["Tone"]
    assert advice["Influence"].startswith("@ritaflies has 25,300 followers: high reach")


@pytest.mark.django_db
def test_guidance_without_a_reply_and_overdue_and_unknown_reach():
    case = CaseFactory(created_at=NOW - timedelta(hours=5))
    troll = MentionFactory(case=case, author_handle="hater", author_followers=None, assessment=Assessment.MONITOR_ONLY)
    guidance = response_guidance(mention=troll, case=case, clocks=[], now=NOW)
    assert guidance.replies is False and guidance.title == "Monitor only"
    advice = dict(guidance.considerations)
    assert "No reply needed" in advice["Timeliness"]
    assert advice["Influence"] == "@hater: follower count unknown."

    fixer = MentionFactory(case=case, author_handle="fan", author_followers=12, assessment=Assessment.FIX_FACTS)
    clock = SlaClockFactory(case=case, due_at=NOW - timedelta(minutes=20))
    advice = dict(response_guidance(mention=fixer, case=case, clocks=[clock], now=NOW).considerations)
    assert advice["Timeliness"].startswith("First reply overdue by 20m")
    assert "Link the page" in advice["Sourcing"]
    assert advice["Influence"].startswith("@fan has 12 followers: a small audience")
