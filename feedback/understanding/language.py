"""Language identification with py3langid (offline; its model ships inside the package).

Handles, links and hashtag signs are removed first; text with no letters left, or a guess below
MIN_CONFIDENCE, is "und" (undetermined). The candidate set is restricted to widely used languages:
on short English tweets the full 97-language model otherwise answers Nigerian Pidgin, Igbo or
Scots Gaelic for about 1% of them.
"""

from __future__ import annotations

import re
from functools import lru_cache

UNDETERMINED = "und"
MIN_CONFIDENCE = 0.4
LANGUAGES = (
    "en", "es", "fr", "de", "it", "pt", "nl", "sv", "da", "no", "fi", "pl", "cs", "sk", "hu", "ro", "bg", "el",
    "ru", "uk", "tr", "ar", "he", "fa", "ur", "hi", "bn", "ta", "te", "mr", "th", "vi", "id", "ms", "tl",
    "zh", "ja", "ko", "ca", "eu", "gl", "hr", "sr", "sl", "lt", "lv", "et", "sw", "af",
)
_NOT_LANGUAGE = re.compile(r"@\w+|#|https?://\S+|www\.\S+|\{link\}|&\w+;")
_LETTER = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=1)
def identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGUAGES))
    return ident


def detect(text: str) -> tuple[str, float]:
    """(ISO 639-1 code or "und", probability)."""
    cleaned = _NOT_LANGUAGE.sub(" ", text or "").strip()
    if not _LETTER.search(cleaned):
        return UNDETERMINED, 0.0
    language, confidence = identifier().classify(cleaned)
    confidence = float(confidence)
    if confidence < MIN_CONFIDENCE:
        return UNDETERMINED, round(confidence, 3)
    return language, round(confidence, 3)
