"""Stratified k-fold cross-validation of every label (what `train_understanding` prints)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from .cascade import GATE_HEADS, calibrate_gate, gate_select
from .config import cascade_share, default_config, fast_config, spam_threshold
from .data import LABELS
from .features import Featurizer
from .heads import SENTIMENT_ORDER, Heads, _proba, _rows, combine_intent


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class with fewer rows than folds
        yield from skf.split(np.zeros(len(y)), y)
