"""Language identification with py3langid (offline; its model ships inside the package).

Handles, links and hashtag signs are removed first; text with no letters left, or a guess below
MIN_CONFIDENCE, is "und" (undetermined). The candidate set is restricted to widely used languages:
on short English tweets the full 97-language model otherwise answers Nigerian Pidgin, Igbo or
Scots Gaelic for about 1% of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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


def _result(language: str, confidence: float) -> tuple[str, float]:
    confidence = float(confidence)
    if confidence < MIN_CONFIDENCE:
        return UNDETERMINED, round(confidence, 3)
    return language, round(confidence, 3)


def detect(text: str) -> tuple[str, float]:
    """(ISO 639-1 code or "und", probability)."""
    return detect_many([text])[0]


def detect_many(texts: Sequence[str]) -> list[tuple[str, float]]:
    """`detect` for a batch: py3langid's own steps (its byte automaton, then naive Bayes), with the
    naive-Bayes scores of the whole batch computed at once instead of one `classify` per text
    (cheaper on a batch, the same for one text; tests/feedback/understanding/test_text.py checks
    the answers against `classify`)."""
    import numpy as np  # here, not at the top: the web process imports this module for UNDETERMINED
    from py3langid.langid import visit_counts

    ident = identifier()
    results: list[tuple[str, float] | None] = [None] * len(texts)
    starts, columns, counts, scored, lengths = [], [], [], [], []
    for i, text in enumerate(texts):
        cleaned = _NOT_LANGUAGE.sub(" ", text or "").strip()
        if not _LETTER.search(cleaned):
            results[i] = (UNDETERMINED, 0.0)
            continue
        encoded = ident._encode(cleaned)
        visits = visit_counts(ident.tk_nextmove, ident._rowbase, ident.tk_output, encoded)
        if not visits:  # no feature at all (rare): py3langid's own answer
            results[i] = _result(*ident.classify(cleaned))
            continue
        scored.append(i)
        starts.append(len(columns))
        lengths.append(len(encoded) or 1)
        columns.extend(visits.keys())
        counts.extend(visits.values())
    if scored:
        # each text's sum of log(1 + count) x the feature's row of log-probabilities, as py3langid
        # computes it one text at a time (gathering only the rows used: the table has 100,000)
        weights = np.log1p(np.asarray(counts, dtype=np.float32))[:, None]
        rows = np.asarray(ident.nb_ptc[np.asarray(columns, dtype=np.intp)], dtype=np.float32)
        scores = np.add.reduceat(rows * weights, np.asarray(starts, dtype=np.intp), axis=0) + ident.nb_pc
        scores *= (1.0 / np.sqrt(np.asarray(lengths, dtype=np.float64))).astype(np.float32)[:, None]
        scores = np.exp(scores - scores.max(1, keepdims=True))
        scores /= scores.sum(1, keepdims=True)
        for first, dupe in ident._alias_pairs:  # a script alias (srl -> sr) counts for its language
            scores[:, first] += scores[:, dupe]
            scores[:, dupe] = 0.0
        best = scores.argmax(1)
        for k, i in enumerate(scored):
            results[i] = _result(ident.nb_classes[best[k]], scores[k, best[k]])
    return results
