"""The understanding model: one shared featuriser (features.py), five linear heads (heads.py)
and, in the cascade profile, a gate that sends the posts the fast heads are unsure of to the heads
that read the sentence embedding (cascade.py). Which of these a model has is its configuration:
config.py (CONFIG and the runtime profile). See README.md in this folder for the scores.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

import numpy as np
import sklearn

from . import language
from .cascade import calibrate_gate, gate_select
from .config import (
    ALGORITHM_VERSION,
    MODEL_NAME,
    cascade_share,
    code_fingerprint,
    default_config,
    fast_config,
    spam_threshold,
    version_of,
)
from .data import LABELS
from .features import Featurizer
from .heads import SENTIMENT_ORDER, Heads, combine_intent
from .text import assess, is_misguided, is_rant


class UnderstandingModel:
    """Labels texts. `predict(texts)` returns one dict per text (see `predict`)."""

    # class-level defaults, so a model saved before the cascade existed still loads and predicts
    fast_heads: Heads | None = None
    gate: dict | None = None

    def __init__(self, config: dict | None = None):
        self.config = default_config() if config is None else dict(config)
        self.version = f"{MODEL_NAME}-{ALGORITHM_VERSION}"
        self.trained_on: dict = {}
        self.featurizer: Featurizer | None = None
        self.heads: Heads | None = None
        # the cascade (None when every post is embedded, or none is): heads without the embedding
        # and the thresholds above which a post is embedded and read again by `heads`
        self.fast_heads: Heads | None = None
        self.gate: dict | None = None

    # training ------------------------------------------------------------------------------

    def fit(self, examples: Sequence[dict], *, version: str | None = None, description: str = "") -> UnderstandingModel:
        if not examples:
            raise ValueError("no training examples")
        started = time.perf_counter()
        texts = [e["text"] for e in examples]
        unique = list(dict.fromkeys(texts))
        self.featurizer = Featurizer(self.config).fit(unique)
        X, _ = self.featurizer.transform(texts)
        n_dense, n_embedding = self.featurizer.n_dense, self.featurizer.n_embedding
        self.heads = Heads(self.config, n_dense, n_embedding).fit(X, examples)
        self.fast_heads, self.gate = None, None
        share = cascade_share(self.config)
        if share is not None:
            X_fast = X[:, :X.shape[1] - n_embedding]
            gate = calibrate_gate(X_fast, examples, share, fast_config(self.config), n_dense)
            if gate:
                self.gate = gate
                self.fast_heads = Heads(fast_config(self.config), n_dense, 0)
                self.fast_heads.is_spam = self.heads.is_spam  # the same features: one head, fitted once
                self.fast_heads.fit(X_fast, examples, only=[label for label in LABELS if label != "is_spam"])
        counts = {label: int(sum(label in e for e in examples)) for label in LABELS}
        self.trained_on = {"examples": len(examples), "per_label": counts, "description": description,
                           "sklearn": sklearn.__version__, "seconds": round(time.perf_counter() - started, 1)}
        if version is None:
            digest = hashlib.sha1(repr((ALGORITHM_VERSION, sorted(self.config.items()), code_fingerprint())).encode())
            for e in examples:
                digest.update(repr(sorted(e.items())).encode())
            version = version_of(self.config, digest.hexdigest())
        self.version = version
        return self

    # prediction ----------------------------------------------------------------------------

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """One dict per text:

        {"version": ..., "embedded": True | False (whether the sentence embedding was read),
         "language": {"label": "en", "confidence": .99, ...},
         "sentiment": {"label": "negative", "confidence": .9, "compound": -.6, "scores": {...}},
         "intent": {"label": "complaint", "confidence": .8, "source": "model", "scores": {...}},
         "is_complaint": {"label": True, "confidence": .85},
         "promise": {"label": "on_time" | None, "confidence": .7, "best": "on_time"},
         "is_spam": {"label": False, "confidence": .97},
         "assessment": {"label": "rectify", "confidence": .85}}
        every label dict also carries "version". A label whose head was not trained (a model
        trained on files without that column) has label None and confidence 0.
        """
        if self.featurizer is None or self.heads is None:
            raise RuntimeError("the model is not trained")
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return []
        heads = self.heads
        if self.fast_heads is not None:
            X, vader_scores = self.featurizer.transform(texts, embed=False)
            P = self.fast_heads.probabilities(X)
            embedded = gate_select(self.gate, P)
            if embedded.any():
                rows = np.flatnonzero(embedded)
                again = heads.probabilities(self.featurizer.add_embedding(X[rows], [texts[i] for i in rows]))
                for key, values in again.items():
                    if values is not None:
                        P[key][rows] = values
        else:
            X, vader_scores = self.featurizer.transform(texts)
            P = heads.probabilities(X)
            embedded = np.full(len(texts), bool(self.featurizer.n_embedding))
        p_sent, p_spam, p_comp = P["sentiment"], P["is_spam"], P["is_complaint"]
        if heads.intent is not None:
            P_int, intent_classes = P["intent"], [str(c) for c in heads.intent.classes_]
        else:
            P_int, intent_classes = np.zeros((len(texts), 0)), []
        P_prom = P["promise"]
        promise_classes = [str(c) for c in heads.promise.classes_] if heads.promise is not None else []
        version = self.version
        cfg = self.config
        languages = language.detect_many(texts)
        is_spam_at = spam_threshold(cfg)
        results = []
        for i, text in enumerate(texts):
            vs = vader_scores[i]
            # sentiment
            if heads.sentiment is not None:
                j = int(p_sent[i].argmax())
                sentiment = {"label": SENTIMENT_ORDER[j], "confidence": round(float(p_sent[i, j]), 3)}
            else:
                sentiment = {"label": None, "confidence": 0.0}
            sentiment.update(compound=vs["compound"], scores={"neg": vs["neg"], "neu": vs["neu"], "pos": vs["pos"]},
                             version=version)
            # spam and complaint
            if heads.is_spam is not None:
                spam = bool(p_spam[i] >= is_spam_at)
                is_spam = {"label": spam, "confidence": round(float(p_spam[i] if spam else 1 - p_spam[i]), 3)}
            else:
                is_spam = {"label": None, "confidence": 0.0}
            is_spam["version"] = version
            if heads.is_complaint is not None:
                comp = bool(p_comp[i] >= 0.5)
                is_complaint = {"label": comp, "confidence": round(float(p_comp[i] if comp else 1 - p_comp[i]), 3)}
            else:
                is_complaint = {"label": None, "confidence": 0.0}
            is_complaint["version"] = version
            # intent
            probs = {c: float(P_int[i, k]) for k, c in enumerate(intent_classes)}
            label, conf, source = combine_intent(text, probs, float(p_spam[i]) if heads.is_spam is not None else 0.0)
            intent = {"label": label, "confidence": conf, "source": source,
                      "scores": {c: round(p, 3) for c, p in probs.items()}, "version": version}
            # promise
            if P_prom is not None:
                k = int(P_prom[i].argmax())
                best, p_best = promise_classes[k], float(P_prom[i, k])
                negative = sentiment["label"] == "negative" or is_complaint["label"] is True
                threshold = cfg["promise_min_confidence_negative"] if negative else cfg["promise_min_confidence_other"]
                promise = {"label": best if p_best >= threshold else None, "confidence": round(p_best, 3),
                           "best": best}
            else:
                promise = {"label": None, "confidence": 0.0, "best": None}
            promise["version"] = version
            # language
            lang, lang_conf = languages[i]
            # assessment
            assessment = self._assessment(text, sentiment, intent, is_complaint, is_spam)
            assessment["version"] = version
            results.append({
                "version": version,
                "embedded": bool(embedded[i]),
                "language": {"label": lang, "confidence": lang_conf, "version": version},
                "sentiment": sentiment,
                "intent": intent,
                "is_complaint": is_complaint,
                "promise": promise,
                "is_spam": is_spam,
                "assessment": assessment,
            })
        return results

    @staticmethod
    def _assessment(text, sentiment, intent, is_complaint, is_spam) -> dict:
        rant, misguided = is_rant(text), is_misguided(text)
        label = assess(sentiment=sentiment["label"] or "neutral", intent=intent["label"] or "other",
                       is_complaint=bool(is_complaint["label"]), is_spam=bool(is_spam["label"]),
                       rant=rant, misguided=misguided)
        # confidence: that of the signal that decided it
        if label == "ignore" or (label == "monitor_only" and (is_spam["label"] or intent["label"] == "spam_troll")):
            conf = max(is_spam["confidence"] if is_spam["label"] else 0.0,
                       intent["confidence"] if intent["label"] == "spam_troll" else 0.0)
        elif label == "rectify" and is_complaint["label"]:
            conf = is_complaint["confidence"]
        else:
            conf = sentiment["confidence"]
        return {"label": label, "confidence": round(float(conf), 3), "rant": rant, "misguided": misguided}

    # persistence ---------------------------------------------------------------------------

    def save(self, path) -> None:
        import os
        from pathlib import Path

        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        joblib.dump(self, tmp, compress=3)
        os.replace(tmp, path)


def load(path) -> UnderstandingModel:
    import joblib

    model = joblib.load(path)
    if not isinstance(model, UnderstandingModel):
        raise TypeError(f"{path} does not hold an understanding model")
    return model


