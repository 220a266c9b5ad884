"""The response assessment of the domain guide and the text signals it reads. Plain Python (only
`re`): the model (feedback/understanding/model.py) and the rules engine
(feedback/understanding/rules.py) both use this one implementation."""

import re

_RANT = re.compile(
    r"\b(?:lol|lmao|rofl|haha\w*|jk|joke|joking|satire|sarcasm|meme|wtf|smh)\b|/s\b|😂|🤣|🙄|!!!", re.IGNORECASE
)
_RUMOUR = re.compile(
    r"\b(?:i heard|is it true|rumou?rs?|supposedly|apparently|they say|people say|word is|fake news|hoax|"
    r"conspiracy|scam)\b",
    re.IGNORECASE,
)


def is_rant(text: str) -> bool:
    letters = list(filter(str.isalpha, text))  # filter/map over builtins: a third of a comprehension's cost
    shouting = len(letters) >= 12 and sum(map(str.isupper, letters)) / len(letters) >= 0.7
    return shouting or bool(_RANT.search(text))


def is_misguided(text: str) -> bool:
    return bool(_RUMOUR.search(text))


def assess(*, sentiment: str, intent: str, is_complaint: bool, is_spam: bool, about_us: bool = True,
           rant: bool = False, misguided: bool = False) -> str:
    """The response recommendation of the domain guide (US Air Force web posting assessment).
    The one implementation: feedback.understanding.adapter.assess calls it.

    In order, the first that applies:
    1. negative and a troll (spam or the spam_troll intent) -> monitor_only, no reply;
    2. not about us (spam, advertising, or `about_us` false) -> ignore;
    3. a complaint (the flag or the intent) -> rectify, whatever the tone (sarcastic praise of a delay is one);
    4. positive -> concur (thank, share);
    5. negative and a rager (`rant`: a rant, joke or satire, not a complaint) -> monitor_only, tell the lead;
    6. negative or neutral and misguided (`misguided`: repeats a claim or rumour) -> fix_facts;
    7. negative (an unhappy customer) -> rectify;
    8. neutral, balanced -> concur (reply with the facts, proactively).
    """
    negative = sentiment == "negative"
    troll = is_spam or intent == "spam_troll"
    if troll and negative:
        return "monitor_only"
    if troll or not about_us:
        return "ignore"
    if is_complaint or intent == "complaint":
        return "rectify"
    if sentiment == "positive":
        return "concur"
    if negative and rant:
        return "monitor_only"
    if misguided:
        return "fix_facts"
    if negative:
        return "rectify"
    return "concur"
