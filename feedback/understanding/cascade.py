"""The cascade: heads without the embedding (the fast heads) read every post; a post whose
sentiment or complaint they are unsure of is embedded and read again by the heads with it.

Embedding a post costs several times as much as everything else the model does, and most posts
are read as well without it. The two thresholds are set at training time so that about
`cascade_share` of posts like the training posts (scored by fast heads that did not see them)
are embedded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .heads import Heads

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
