"""The five linear heads and how they stack, plus the intent rules that follow them.

  1. sentiment: one-vs-rest logistic regression (C=4);  is_spam: NB-weighted logistic regression
     (C=4) on every feature but the embedding (which costs spam accuracy)
  2. is_complaint: logistic regression (C=4) on the features + the sentiment probabilities;
     promise: class-balanced logistic regression (C=4), trained on negative airline tweets
  3. intent: logistic regression (C=4) on the features + sentiment, complaint and spam
     probabilities, then precise phrase rules for rare intents (press, idea, purchase_intent,
     warranty_return, spam_troll): `combine_intent`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from .data import LABELS
from .text import intent_rule

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


# --- Intent: the head's probabilities, the phrase rules and the spam signal ---------------


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

