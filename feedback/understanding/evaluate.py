"""Scoring a model on a labelled CSV: per-label accuracy, macro-F1, per-class precision/recall
and a confusion matrix, as text and as one JSON-able summary.

Promise is scored on the rows that have a promise (as in the data README: "the airline promise
the complaint is about"), against the model's best guess (`promise.best`), whatever the gating
that decides whether a promise is reported at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from .data import LABELS


def predicted_value(prediction: dict, label: str):
    if label == "promise":
        return prediction["promise"]["best"]
    return prediction[label]["label"]


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "none" if value is None else str(value)


def score_label(gold: Sequence, predicted: Sequence) -> dict:
    """Metrics for one label; values are compared as strings (booleans as 1/0, None as none)."""
    y = [_fmt(v) for v in gold]
    p = [_fmt(v) for v in predicted]
    classes = sorted(set(y) | set(p))
    gold_classes = sorted(set(y))
    precision, recall, f1, support = precision_recall_fscore_support(y, p, labels=classes, zero_division=0)
    return {
        "n": len(y),
        "accuracy": round(float(accuracy_score(y, p)), 4),
        "macro_f1": round(float(f1_score(y, p, labels=gold_classes, average="macro", zero_division=0)), 4),
        "classes": classes,
        "per_class": {c: {"precision": round(float(precision[k]), 4), "recall": round(float(recall[k]), 4),
                          "f1": round(float(f1[k]), 4), "support": int(support[k])} for k, c in enumerate(classes)},
        "confusion": confusion_matrix(y, p, labels=classes).tolist(),
    }


def evaluate(model, examples: Sequence[dict], *, batch_size: int = 2000) -> dict:
    """{"n": rows, label: score_label(...) for each label present in the examples}."""
    predictions = []
    texts = [e["text"] for e in examples]
    for start in range(0, len(texts), batch_size):
        predictions.extend(model.predict(texts[start:start + batch_size]))
    report = {"n": len(examples), "version": model.version}
    for label in LABELS:
        idx = [i for i, e in enumerate(examples) if label in e]
        if not idx:
            continue
        report[label] = score_label([examples[i][label] for i in idx],
                                    [predicted_value(predictions[i], label) for i in idx])
    return report


def format_report(report: dict) -> str:
    lines = [f"model {report.get('version', '?')}, {report['n']} rows"]
    for label in LABELS:
        if label not in report:
            continue
        r = report[label]
        lines.append("")
        lines.append(f"== {label} (n={r['n']}): accuracy {r['accuracy']:.3f}, macro-F1 {r['macro_f1']:.3f}")
        width = max(len(c) for c in r["classes"] + ["class"])
        lines.append(f"  {'class':<{width}}  precision  recall     f1  support")
        for c in r["classes"]:
            m = r["per_class"][c]
            lines.append(f"  {c:<{width}}  {m['precision']:9.3f}  {m['recall']:6.3f}  {m['f1']:5.3f}  {m['support']:7d}")
        lines.append("  confusion (rows: true, columns: predicted, in the order above):")
        for c, row in zip(r["classes"], r["confusion"], strict=True):
            lines.append(f"  {c:<{width}}  " + " ".join(f"{v:5d}" for v in row))
    return "\n".join(lines)


def summary(report: dict) -> dict:
    """The final JSON line: {"n": ..., label: {"accuracy": ..., "macro_f1": ..., "n": ...}, ...}."""
    out = {"n": report["n"]}
    for label in LABELS:
        if label in report:
            out[label] = {"accuracy": report[label]["accuracy"], "macro_f1": report[label]["macro_f1"],
                          "n": report[label]["n"]}
    return out
