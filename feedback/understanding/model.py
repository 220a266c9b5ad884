"""The understanding model: one shared featuriser and five linear heads, plus rules.

Features (computed once per batch, shared by every head):
  word TF-IDF (1-2 grams) and character TF-IDF (char_wb 2-5 grams) over normalised text
  (URLs and numbers replaced, @handles kept as tokens; elongations shortened), VADER scores,
  surface cues (!, ?, capitals, links, handles, length), counts of hand-written lexicon cues and,
  unless turned off, the all-MiniLM-L6-v2 sentence embedding (embeddings.py).
Heads (stacked in three stages):
  1. sentiment: logistic regression (C=4);  is_spam: NB-weighted logistic regression (C=4) on
     every feature but the embedding (which costs spam accuracy)
  2. is_complaint: logistic regression (C=4) on the features + the sentiment probabilities;
     promise: class-balanced logistic regression (C=4), trained on negative airline tweets
  3. intent: logistic regression (C=4) on the features + sentiment, complaint and spam
     probabilities, then precise phrase rules for rare intents (press, idea, purchase_intent,
     warranty_return, spam_troll).
The cascade (the default where the CPU has native bfloat16: `default_config`; with a 3-layer
encoder and fewer posts without AMX, LIGHT_CASCADE): the same heads without the embedding (the fast
heads) read every post; the posts whose sentiment or complaint they are unsure of are embedded and
read by the heads above.
See README.md in this folder for what was tried and the cross-validated scores.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from . import language
from .data import LABELS
from .text import assess, dense_features, intent_rule, is_misguided, is_rant, normalise

MODEL_NAME = "understanding"
# Bump when features, heads or rules change: the default model's cache file name changes with it.
ALGORITHM_VERSION = "3"

CONFIG = {
    "word_ngrams": (1, 2),
    "char_ngrams": (2, 5),
    "min_df": 2,
    "max_char_features": 300_000,
    "lexicon_scale": 0.5,
    "C": {"sentiment": 4.0, "is_spam": 4.0, "is_complaint": 4.0, "promise": 4.0, "intent": 4.0},
    "stack_scale": 1.0,
    # a post is spam at this probability (the brand posts among the spam head's negatives pull its
    # probabilities down: data.AUX_NOT_SPAM_EVERY)
    "spam_threshold": 0.4,
    # promise is only reported for a post that reads as negative or as a complaint (where the
    # training data has it) at this confidence, or for any other post at the higher one.
    "promise_min_confidence_negative": 0.3,
    "promise_min_confidence_other": 0.6,
    # sentence embeddings appended to the features of every head but is_spam (None: without them)
    "embeddings": "all-MiniLM-L6-v2",
    "embedding_scale": 0.6,
    # only the encoder's first N transformer layers (None: all 6): see LIGHT_CASCADE
    "embedding_layers": None,
    # the cascade: heads without the embedding read every post; only the posts whose sentiment or
    # complaint they are least sure of (about this share of the training posts) are embedded and
    # read again by the heads with it. None or 1: embed every post.
    "cascade_share": 0.15,
}


# `auto` on a CPU with AVX512-BF16 but no AMX (AMD Zen 4): the first 3 of the encoder's 6 layers,
# on the posts the fast heads are least sure of (about 5% of the bench's posts instead of 9%).
# 5-fold CV there: sentiment 0.827, complaint 0.846, intent 0.746, against 0.823 / 0.836 / 0.746 for
# the fast model and 0.829 / 0.849 / 0.754 for the full cascade; faster than the full cascade there
# (bench understand: BENCHMARKS.md; the measurements per CPU: README.md in this folder).
LIGHT_CASCADE = {"embedding_layers": 3, "cascade_share": 0.10}

# The modules whose code shapes a trained model: a change to any of them gives models a new version
CODE_MODULES = ("data.py", "model.py", "text.py", "embeddings.py")


def code_fingerprint() -> str:
    digest = hashlib.sha1()
    for module in CODE_MODULES:
        digest.update((Path(__file__).resolve().parent / module).read_bytes())
    return digest.hexdigest()


def cascade_share(config: dict) -> float | None:
    """The share of posts the cascade embeds, None when every post is embedded (or none is)."""
    share = config.get("cascade_share")
    return float(share) if config.get("embeddings") and share is not None and 0 < share < 1 else None


def fast_config(config: dict) -> dict:
    return {**config, "embeddings": None}


def spam_threshold(config: dict) -> float:
    """The spam probability at which a post is spam (0.5 for a model saved before the setting)."""
    return config.get("spam_threshold", 0.5)


def default_config() -> dict:
    """CONFIG, as BATON_UNDERSTANDING_EMBEDDINGS asks: `auto` (the default: the embedding runs
    where it is cheap enough for 1,000 mentions/s per core, see below), `on` (the cascade: the posts
    the fast heads are unsure of are embedded), `all` (every post is embedded: slower, a little more
    accurate) or `off` (no embedding: the fast model).

    `auto` by CPU: with AMX, the cascade; with AVX512-BF16 alone (AMD Zen 4, where an embedded
    post costs several times more), LIGHT_CASCADE; without native bfloat16 (fp32), the fast model.
    The rates behind that choice: README.md in this folder; the current ones: BENCHMARKS.md."""
    config = dict(CONFIG)
    mode = os.environ.get("BATON_UNDERSTANDING_EMBEDDINGS", "auto").strip().lower()
    if mode in ("off", "0", "false", "no"):
        config["embeddings"] = None
    elif mode == "all":
        config["cascade_share"] = None
    elif mode not in ("on", "1", "true", "yes"):
        from .embeddings import amx, precision

        if precision() != "bf16":
            config["embeddings"] = None
        elif not amx():
            config.update(LIGHT_CASCADE)
    return config


TOKEN_PATTERN = r"(?u)[\w']+|[^\w\s]"


# --- Estimators ---------------------------------------------------------------------------


def _scores(lr: LogisticRegression, X) -> np.ndarray:
    """`lr.decision_function(X)` without scikit-learn's input checks, which cost about 0.25 ms a
    call whatever the batch: a model answers a one-post batch (a webhook's post) with some twenty
    such calls, so the checks were most of its time."""
    scores = np.asarray(X @ lr.coef_.T) + lr.intercept_
    return scores.ravel() if scores.shape[1] == 1 else scores


def _binary_proba(lr: LogisticRegression, X) -> np.ndarray:
    """`lr.predict_proba(X)` of a binary logistic regression, through `_scores`."""
    p = expit(_scores(lr, X))
    return np.column_stack([1 - p, p])


class NBLogisticRegression(BaseEstimator, ClassifierMixin):
    """Binary NB-SVM style classifier (Wang & Manning 2012): features scaled by their log-count
    ratio, then logistic regression. The last `n_dense` columns are left unscaled."""

    def __init__(self, C=4.0, alpha=1.0, n_dense=0):
        self.C = C
        self.alpha = alpha
        self.n_dense = n_dense

    def fit(self, X, y, sample_weight=None):
        X = sp.csr_matrix(X)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError("NBLogisticRegression is binary")
        positive = y == self.classes_[1]
        binary = X.copy()
        binary.data = (binary.data > 0).astype(np.float64)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        p = np.asarray(binary.T @ (w * positive)).ravel() + self.alpha
        q = np.asarray(binary.T @ (w * ~positive)).ravel() + self.alpha
        r = np.log((p / p.sum()) / (q / q.sum()))
        if self.n_dense:
            r[-self.n_dense:] = 1.0
        self.r_ = r
        self.lr_ = LogisticRegression(C=self.C, solver="liblinear").fit(X.multiply(r).tocsr(), positive.astype(int),
                                                                   sample_weight=sample_weight)
        return self

    def predict_proba(self, X):
        return _binary_proba(self.lr_, sp.csr_matrix(X).multiply(self.r_).tocsr())

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]


class OvRLogisticRegression(BaseEstimator, ClassifierMixin):
    """One-vs-rest logistic regression with liblinear: as accurate as the multinomial model on
    these sets (airline sentiment 0.818 vs 0.815 in 5-fold CV) and several times faster to fit.
    Probabilities are the per-class sigmoids normalised to sum to one."""

    def __init__(self, C=4.0, class_weight=None):
        self.C = C
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) == 2:
            self.models_ = [LogisticRegression(C=self.C, solver="liblinear", class_weight=self.class_weight)
                            .fit(X, y, sample_weight=sample_weight)]
            return self
        self.models_ = []
        for c in self.classes_:
            target = (y == c).astype(int)
            cw = None
            if self.class_weight == "balanced":
                # the multiclass balanced weight of the class, 1-ish for the rest
                n, k = len(y), len(self.classes_)
                cw = {1: n / (k * max(target.sum(), 1)), 0: n / (k * max((~(y == c)).sum(), 1)) * (k - 1)}
            self.models_.append(LogisticRegression(C=self.C, solver="liblinear", class_weight=cw)
                                .fit(X, target, sample_weight=sample_weight))
        return self

    def decision_function(self, X):
        if len(self.models_) == 1:
            return _scores(self.models_[0], X)
        return np.column_stack([_scores(m, X) for m in self.models_])

    def predict_proba(self, X):
        if len(self.models_) == 1:
            return _binary_proba(self.models_[0], X)
        P = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return P / np.maximum(P.sum(1, keepdims=True), 1e-12)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]


class Featurizer:
    def __init__(self, config: dict):
        self.config = config
        self.word = TfidfVectorizer(ngram_range=tuple(config["word_ngrams"]), min_df=config["min_df"],
                                    sublinear_tf=True, lowercase=False, token_pattern=TOKEN_PATTERN,
                                    dtype=np.float32)
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(config["char_ngrams"]),
                                    min_df=config["min_df"], sublinear_tf=True, lowercase=False,
                                    max_features=config["max_char_features"], dtype=np.float32)

    def fit(self, texts: Sequence[str]) -> Featurizer:
        normalised = [normalise(t) for t in texts]
        self.word.fit(normalised)
        self.char.fit(normalised)
        return self

    def transform(self, texts: Sequence[str], *, embed: bool = True) -> tuple[sp.csr_matrix, list[dict]]:
        """The feature matrix (the embedding, when configured and `embed`, in the last `n_embedding`
        columns) and the VADER scores of each text."""
        normalised = [normalise(t) for t in texts]
        dense, scores = dense_features(list(texts), self.config["lexicon_scale"])
        X = sp.hstack([self.word.transform(normalised), self.char.transform(normalised), dense], format="csr",
                      dtype=np.float64)
        if embed and self.n_embedding:
            X = self.add_embedding(X, texts)
        return X, scores

    def add_embedding(self, X, texts: Sequence[str]) -> sp.csr_matrix:
        """`X` (features without the embedding) with the texts' embedding appended."""
        from . import embeddings

        E = embeddings.encode(list(texts), layers=self.config.get("embedding_layers")) * self.config["embedding_scale"]
        return sp.hstack([X, sp.csr_matrix(E)], format="csr", dtype=np.float64)

    @property
    def n_dense(self) -> int:
        from .text import N_DENSE

        return N_DENSE

    @property
    def n_embedding(self) -> int:
        from .embeddings import DIMENSIONS

        return DIMENSIONS if self.config.get("embeddings") else 0


# --- Training helpers ---------------------------------------------------------------------


def _rows(examples: Sequence[dict], label: str) -> np.ndarray:
    return np.array([i for i, e in enumerate(examples) if label in e], dtype=int)


def _weights(examples: Sequence[dict], rows: np.ndarray) -> np.ndarray:
    return np.array([float(examples[i].get("weight", 1.0)) for i in rows])


def _fit_head(label: str, X, y, w, config: dict, n_dense: int):
    classes = np.unique(y)
    if len(classes) < 2:
        return None
    C = config["C"][label]
    if label == "is_spam":
        return NBLogisticRegression(C=C, n_dense=n_dense).fit(X, y, sample_weight=w)
    class_weight = "balanced" if label == "promise" else None
    return OvRLogisticRegression(C=C, class_weight=class_weight).fit(X, y, sample_weight=w)


def _proba(head, X, classes: Sequence) -> np.ndarray:
    """Probabilities in the order of `classes` (zeros where the head is missing or lacks a class)."""
    out = np.zeros((X.shape[0], len(classes)))
    if head is None:
        return out
    P = head.predict_proba(X)
    for j, c in enumerate(head.classes_):
        if c in classes:
            out[:, list(classes).index(c)] = P[:, j]
    return out


SENTIMENT_ORDER = ("negative", "neutral", "positive")


class Heads:
    """The fitted heads and how they stack."""

    def __init__(self, config: dict, n_dense: int, n_embedding: int = 0):
        self.config = config
        self.n_dense = n_dense
        self.n_embedding = n_embedding
        self.sentiment = self.is_spam = self.is_complaint = self.promise = self.intent = None

    def spam_features(self, X):
        """Every column but the embedding: the spam head does better without it (0.958 vs 0.963)."""
        return X[:, :X.shape[1] - self.n_embedding] if self.n_embedding else X

    def spam_proba(self, X):
        return _proba(self.is_spam, self.spam_features(X), (False, True))[:, 1]

    def stage1(self, X):
        return _proba(self.sentiment, X, SENTIMENT_ORDER), self.spam_proba(X)

    def complaint_features(self, X, p_sent):
        return sp.hstack([X, sp.csr_matrix(p_sent * self.config["stack_scale"])], format="csr")

    def intent_features(self, X, p_sent, p_comp, p_spam):
        extra = np.column_stack([p_sent, p_comp, p_spam]) * self.config["stack_scale"]
        return sp.hstack([X, sp.csr_matrix(extra)], format="csr")

    def fit(self, X, examples: Sequence[dict], only: Sequence[str] = LABELS, aux: Heads | None = None) -> Heads:
        """Fit the heads named in `only`. Stacked inputs come from `aux` heads when given (used by
        cross-validation so the stacked probabilities never come from a model that saw the row)."""
        source = aux or self
        for label in ("sentiment", "is_spam"):
            if label in only:
                rows = _rows(examples, label)
                if len(rows):
                    y = np.array([examples[i][label] for i in rows])
                    Xr = self.spam_features(X[rows]) if label == "is_spam" else X[rows]
                    setattr(self, label, _fit_head(label, Xr, y, _weights(examples, rows), self.config, self.n_dense))
        if "is_complaint" in only:
            rows = _rows(examples, "is_complaint")
            if len(rows):
                Xr = X[rows]
                p_sent, _ = source.stage1(Xr)
                y = np.array([examples[i]["is_complaint"] for i in rows])
                self.is_complaint = _fit_head("is_complaint", self.complaint_features(Xr, p_sent), y,
                                              _weights(examples, rows), self.config, self.n_dense)
        if "promise" in only:
            rows = _rows(examples, "promise")
            if len(rows):
                y = np.array([examples[i]["promise"] for i in rows])
                self.promise = _fit_head("promise", X[rows], y, _weights(examples, rows), self.config, self.n_dense)
        if "intent" in only:
            rows = _rows(examples, "intent")
            if len(rows):
                Xr = X[rows]
                y = np.array([examples[i]["intent"] for i in rows])
                self.intent = _fit_head("intent", source.intent_matrix(Xr), y, _weights(examples, rows),
                                        self.config, self.n_dense)
        return self

    def complaint_proba(self, X, p_sent):
        return _proba(self.is_complaint, self.complaint_features(X, p_sent), (False, True))[:, 1]

    def intent_matrix(self, X):
        p_sent, p_spam = self.stage1(X)
        p_comp = self.complaint_proba(X, p_sent)
        return self.intent_features(X, p_sent, p_comp, p_spam)

    def probabilities(self, X) -> dict:
        """Every head's probabilities for the rows of X (the promise and intent arrays are in the
        order of their heads' classes, None without the head)."""
        p_sent, p_spam = self.stage1(X)
        p_comp = self.complaint_proba(X, p_sent)
        P_int = self.intent.predict_proba(self.intent_features(X, p_sent, p_comp, p_spam)) if self.intent else None
        P_prom = self.promise.predict_proba(X) if self.promise else None
        return {"sentiment": p_sent, "is_spam": p_spam, "is_complaint": p_comp, "intent": P_int, "promise": P_prom}


# --- The cascade --------------------------------------------------------------------------
# Embedding a post costs about four times as much as everything else the model does, and most
# posts are read as well without it. Heads without the embedding (the fast heads) read every post;
# a post whose sentiment or complaint they are unsure of is embedded and read again by the heads
# with it. The two thresholds are set at training time so that about `cascade_share` of posts
# like the training posts (scored by fast heads that did not see them) are embedded.

# Gating on promise and intent too was tried: at the same share it embeds fewer of the posts whose
# sentiment is in doubt, and promise and intent gained nothing from it (README.md).
GATE_LABELS = ("sentiment", "is_complaint")
GATE_HEADS = ("sentiment", "is_spam", "is_complaint")  # what the gate's probabilities need


def uncertainty(P: dict) -> dict[str, np.ndarray]:
    """How unsure the fast heads are of each gate label, from `Heads.probabilities`: 0 (certain)
    to 1 (every class equally likely). A missing sentiment head (all zeros) is left out."""
    u = {"is_complaint": 1.0 - np.abs(2.0 * P["is_complaint"] - 1.0)}
    if P["sentiment"].any():
        k = P["sentiment"].shape[1]
        u["sentiment"] = (1.0 - P["sentiment"].max(1)) * k / (k - 1)
    return u


def gate_select(gate: dict, P: dict) -> np.ndarray:
    """Which rows the heads with the embedding read again."""
    u = uncertainty(P)
    selected = np.zeros(len(P["is_spam"]), dtype=bool)
    for label, threshold in gate.items():
        if threshold is not None and label in u:
            selected |= u[label] >= threshold
    return selected


def calibrate_gate(X_fast, examples: Sequence[dict], share: float, config: dict, n_dense: int,
                   seed: int = 0) -> dict:
    """The gate thresholds that select about `share` of the training texts, scored out of sample
    (two halves of the texts, each scored by fast heads trained on the other half's labels)."""
    texts = [e["text"] for e in examples]
    first = {}
    for i, t in enumerate(texts):
        first.setdefault(t, i)
    rows = np.array(sorted(first.values()))
    rng = np.random.default_rng(seed)
    half = dict(zip((texts[i] for i in rows), rng.integers(0, 2, len(rows)), strict=True))
    u, trained = {}, set(GATE_LABELS)
    for h in (0, 1):
        train = [e if half[e["text"]] != h else {"text": e["text"]} for e in examples]
        heads = Heads(config, n_dense, 0).fit(X_fast, train, only=GATE_HEADS)
        trained &= {label for label in GATE_LABELS if getattr(heads, label) is not None}
        scored = np.array([half[texts[i]] == h for i in rows])
        if scored.any():
            for label, values in uncertainty(heads.probabilities(X_fast[rows[scored]])).items():
                u.setdefault(label, np.zeros(len(rows)))[scored] = values
    labels = [label for label in GATE_LABELS if label in u and label in trained]
    if not labels:
        return {}
    P_u = {label: u[label] for label in labels}

    def thresholds(q):
        return {label: float(np.quantile(P_u[label], 1.0 - q)) for label in labels}

    def selected(gate):
        return np.any([P_u[label] >= t for label, t in gate.items()], axis=0)

    low, high = 0.0, share  # the union of the top-q sets grows with q
    for _ in range(30):
        q = (low + high) / 2
        if selected(thresholds(q)).mean() > share:
            high = q
        else:
            low = q
    return thresholds(low)


def combine_intent(text: str, probs: dict[str, float], p_spam: float) -> tuple[str | None, float, str]:
    """The intent from the learned probabilities, the phrase rules and the spam signal:
    (label, confidence, source) with source "model", "rule" or "spam"."""
    rule = intent_rule(text)
    if rule is not None:
        return rule, round(max(0.6, probs.get(rule, 0.0)), 3), "rule"
    if p_spam >= 0.9:
        return "spam_troll", round(max(p_spam * 0.8, probs.get("spam_troll", 0.0)), 3), "spam"
    if not probs:
        return None, 0.0, "none"
    best = max(probs, key=probs.get)
    return best, round(probs[best], 3), "model"


# --- The model ----------------------------------------------------------------------------


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
            version = f"{MODEL_NAME}-{ALGORITHM_VERSION}+{digest.hexdigest()[:10]}"
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


# --- Cross-validation ---------------------------------------------------------------------


def cross_validate(examples: Sequence[dict], *, folds: int = 5, seed: int = 0, labels: Sequence[str] = LABELS,
                   config: dict | None = None, log=None) -> dict:
    """Stratified k-fold scores per label: {"sentiment": {"n", "accuracy", "macro_f1"}, ...}.

    The TF-IDF vocabulary is fitted once on every text (unsupervised). For a stacked head, the
    heads that feed it are refitted without any text of the label under test, so no stacked
    probability comes from a model that saw the row. Intent is scored after the rules; promise
    on the rows that have one (the best guess, whatever the gating). With the cascade, each fold
    fits the heads with and without the embedding, and a test row gets the prediction of the heads
    with it when the gate (its thresholds from `calibrate_gate` on every example) selects it; the
    gate reads the fold's fast head for the label under test and, for the other labels, the fast
    heads that feed the stacked ones (or, for sentiment and promise, fast heads trained on every
    row: only the gate sees them).
    """
    import warnings

    config = default_config() if config is None else dict(config)
    texts = [e["text"] for e in examples]
    featurizer = Featurizer(config).fit(list(dict.fromkeys(texts)))
    X, _ = featurizer.transform(texts)
    n_dense, n_embedding = featurizer.n_dense, featurizer.n_embedding
    share = cascade_share(config)
    X_fast = X[:, :X.shape[1] - n_embedding] if n_embedding else X
    gate = None
    if share is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gate = calibrate_gate(X_fast, examples, share, fast_config(config), n_dense, seed=seed) or None
    results = {}
    everything_fast = None
    auxiliary = np.array([bool(e.get("auxiliary")) for e in examples])
    for label in labels:
        all_rows = _rows(examples, label)
        rows = all_rows[~auxiliary[all_rows]]  # scored rows; auxiliary ones only ever train
        extra_rows = all_rows[auxiliary[all_rows]]
        if len(rows) < folds * 2:
            continue
        started = time.perf_counter()
        y = np.array([examples[i][label] for i in rows])
        values, counts = np.unique(y, return_counts=True)
        if len(values) < 2:
            continue
        # the heads feeding the stacked ones (and the gate), trained without the label's texts
        held = set(texts[i] for i in rows)
        aux_examples = [e if e["text"] not in held else {"text": e["text"]} for e in examples]
        stacked = label in ("is_complaint", "intent")
        cascade = gate is not None and label != "is_spam"  # spam never reads the embedding
        variants = [(config, X, n_embedding)] + ([(fast_config(config), X_fast, 0)] if cascade else [])
        aux = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for cfg, Xv, n_emb in variants:
                if stacked:
                    aux[n_emb] = Heads(cfg, n_dense, n_emb).fit(Xv, aux_examples, only=GATE_HEADS)
                elif cascade and n_emb == 0:  # the gate's other labels: fast heads trained on every row
                    if everything_fast is None:
                        everything_fast = Heads(cfg, n_dense, 0).fit(Xv, examples, only=GATE_HEADS)
                    aux[0] = everything_fast
        n_splits = max(2, min(folds, int(counts.max())))
        skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        pred = np.empty(len(rows), dtype=object)
        embedded = 0
        for train, test in _split(skf, y):
            train_rows, test_rows = np.concatenate([rows[train], extra_rows]), rows[test]
            sub = [examples[i] for i in train_rows]
            fold = {}
            for cfg, Xv, n_emb in variants:
                heads = Heads(cfg, n_dense, n_emb)
                base = aux.get(n_emb)
                if base is not None:
                    heads.sentiment, heads.is_spam, heads.is_complaint = base.sentiment, base.is_spam, base.is_complaint
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    heads.fit(Xv[train_rows], sub, only=(label,), aux=base if stacked else None)
                fold[n_emb] = (heads, _predict_label(label, heads, Xv[test_rows], [texts[i] for i in test_rows]))
            pred[test] = fold[n_embedding][1]
            if cascade:
                selected = gate_select(gate, fold[0][0].probabilities(X_fast[test_rows]))
                pred[test] = np.where(selected, fold[n_embedding][1], fold[0][1])
                embedded += int(selected.sum())
        y_list, p_list = [str(v) for v in y], [str(v) for v in pred]
        classes = sorted(set(y_list))
        precision, recall, f1, support = precision_recall_fscore_support(y_list, p_list, labels=classes,
                                                                         zero_division=0)
        results[label] = {
            "n": int(len(rows)),
            "accuracy": round(float(accuracy_score(y_list, p_list)), 4),
            "macro_f1": round(float(f1_score(y_list, p_list, average="macro", labels=classes)), 4),
            "folds": n_splits,
            "per_class": {c: {"precision": round(float(precision[k]), 3), "recall": round(float(recall[k]), 3),
                              "f1": round(float(f1[k]), 3), "support": int(support[k])}
                          for k, c in enumerate(classes)},
        }
        if cascade:
            results[label]["embedded_share"] = round(embedded / len(rows), 3)
        if log:
            note = f", {embedded / len(rows):.0%} embedded" if cascade else ""
            log(f"{label}: n={len(rows)} accuracy={results[label]['accuracy']:.3f} "
                f"macro_f1={results[label]['macro_f1']:.3f} ({time.perf_counter() - started:.0f}s{note})")
            log("    per class (precision/recall, n): " + ", ".join(
                f"{c} {v['precision']:.2f}/{v['recall']:.2f} ({v['support']})"
                for c, v in results[label]["per_class"].items()))
    return results


def _predict_label(label: str, heads: Heads, X, texts: Sequence[str]) -> list:
    """The heads' prediction of one label for the rows of X (as cross-validation scores it)."""
    if label == "sentiment":
        return [SENTIMENT_ORDER[k] for k in _proba(heads.sentiment, X, SENTIMENT_ORDER).argmax(1)]
    if label == "is_spam":
        return list(heads.spam_proba(X) >= spam_threshold(heads.config))
    if label == "is_complaint":
        p_sent, _ = heads.stage1(X)
        return list(heads.complaint_proba(X, p_sent) >= 0.5)
    if label == "promise":
        return list(heads.promise.classes_[heads.promise.predict_proba(X).argmax(1)])
    P = heads.intent.predict_proba(heads.intent_matrix(X))
    p_spam = heads.stage1(X)[1]
    classes = list(heads.intent.classes_)
    return [combine_intent(text, {c: float(P[k, j]) for j, c in enumerate(classes)}, float(p_spam[k]))[0]
            for k, text in enumerate(texts)]


def _split(skf, y):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class with fewer rows than folds
        yield from skf.split(np.zeros(len(y)), y)
