import pytest

from feedback.understanding import language
from feedback.understanding.text import LEXICON_KEYS, assess, intent_rule, is_misguided, is_rant, lexicon_row, normalise


def test_normalise_keeps_handles_and_replaces_urls_numbers_and_elongations():
    text = "@United   Sooooo late!!! Flight 1234 http://t.co/abc &amp; {link} cc @bob_99"
    assert normalise(text) == "hdl_united soo late!!! flight 0 url & url cc hdl_bob_0"


@pytest.mark.parametrize(("text", "intent"), [
    ("Hi, I'm a journalist at the Herald writing a piece on airport delays, who can I talk to?", "press"),
    ("@acme you should add a dark mode to the app", "idea"),
    ("@acme I want to buy the new headphones, are they in stock in Leeds?", "purchase_intent"),
    ("@acme my kettle stopped working after a week, can I get a replacement under warranty?", "warranty_return"),
    ("Enter our giveaway for a chance to win an iPad! https://t.co/x", "spam_troll"),
    ("@united my flight is delayed again", None),
])
def test_intent_rules(text, intent):
    assert intent_rule(text) == intent


def test_lexicon_counts_promise_cues():
    row = dict(zip(LEXICON_KEYS, lexicon_row("my bag arrived broken and the flight was cancelled"), strict=True))
    assert row["bags_intact"] >= 1 and row["flights_operate"] >= 1 and row["bags_arrive"] >= 1
    assert row["press"] == 0


@pytest.mark.parametrize("text, count", [
    ("@SouthwestAir how do I go on the scavenger hunt if I'm in Boston", 1),  # after the handle, no "?"
    (".@116233 How can I deactivate a device", 1),
    ("@united @AmericanAir is flight 714 still on", 1),
    ("Changed to the 24th. Does it still leave at 9", 1),  # a sentence that starts with one
    ("what a flight", 1),
    ("@united this is it, the worst crew", 0),  # "is" inside a sentence is not a question
])
def test_lexicon_finds_a_question_word_after_the_handles_a_post_starts_with(text, count):
    assert dict(zip(LEXICON_KEYS, lexicon_row(text), strict=True))["question"] == count


def test_assessment_follows_the_domain_guide():
    base = {"is_complaint": False, "is_spam": False}
    assert assess(sentiment="neutral", intent="spam_troll", **base) == "ignore"
    assert assess(sentiment="negative", intent="spam_troll", **base) == "monitor_only"
    assert assess(sentiment="negative", intent="complaint", is_complaint=True, is_spam=False) == "rectify"
    assert assess(sentiment="positive", intent="praise", **base) == "concur"
    assert assess(sentiment="negative", intent="other", rant=True, **base) == "monitor_only"
    assert assess(sentiment="negative", intent="question", misguided=True, **base) == "fix_facts"
    assert assess(sentiment="negative", intent="other", **base) == "rectify"
    assert assess(sentiment="neutral", intent="question", **base) == "concur"
    assert is_rant("lol this airline is a joke 😂") and not is_rant("My bag is lost.")
    assert is_misguided("I heard you are charging for carry-ons now?")


@pytest.mark.parametrize(("text", "code"), [
    ("@united my flight was cancelled and nobody at the desk will help us rebook", "en"),
    ("@iberia mi vuelo lleva tres horas de retraso y nadie nos dice nada", "es"),
    ("@airfrance mon vol a été annulé et personne ne répond au téléphone", "fr"),
    ("@lufthansa mein Koffer ist nicht angekommen, bitte helfen Sie mir", "de"),
    ("@united http://t.co/abc #", "und"),
    ("", "und"),
])
def test_language(text, code):
    assert language.detect(text)[0] == code


def test_language_of_a_batch_is_that_of_each_text():
    """detect_many scores a batch in one product, with py3langid's internals: the same answers as
    py3langid's classify per text, on real posts in several languages and scripts and on posts with
    no language."""
    import csv

    from feedback.understanding.data import DATA_DIR

    with open(DATA_DIR / "airline.csv", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)][:1500]
    texts += ["", "   ", "@united #", "12:30", "🙄🙄", "Hola, ¿cómo estás? Mi vuelo está retrasado", "Привет, мой багаж потерян",
              "東京行きの便が遅れています", "Мој пртљаг је изгубљен", "Moj prtljag je izgubljen", "SHOUTING IN CAPITALS"]
    def classify_one(text):  # py3langid's own classify, one text at a time
        cleaned = language._NOT_LANGUAGE.sub(" ", text).strip()
        if not language._LETTER.search(cleaned):
            return language.UNDETERMINED, 0.0
        code, confidence = language.identifier().classify(cleaned)
        return (code if confidence >= language.MIN_CONFIDENCE else language.UNDETERMINED), round(float(confidence), 3)

    one_by_one = [classify_one(text) for text in texts]
    batch = language.detect_many(texts)
    assert [code for code, _ in batch] == [code for code, _ in one_by_one]
    assert max(abs(a - b) for (_, a), (_, b) in zip(batch, one_by_one, strict=True)) <= 0.001
    assert {"en", "es", "ru", "ja", "und"} <= {code for code, _ in batch}
    assert language.detect_many([]) == []


@pytest.mark.parametrize("text", ["ⅫⅫⅫⅫ LATE again, 12 hours", "MY BAG IS LOST AND NOBODY CARES", "My bag is LOST.", "",
                                  "ÉTÉ ÇA VA PAS DU TOUT"])
def test_rant_shouting_counts_upper_case_letters_only(text):
    letters = [c for c in text if c.isalpha()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) >= 0.7
    assert is_rant(text) == shouting
