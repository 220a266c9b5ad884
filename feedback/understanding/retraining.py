"""Retraining: the shipped data plus labelled files plus corrections, cross-validated and saved.

`retrain` is what `manage.py train_understanding` runs. `extra_examples` is the hook for the
company's own corrections (a person's fixed labels, collected by the Django side):
a list of dicts {"text": ..., "sentiment"/"intent"/"is_complaint"/"promise"/"is_spam": ...,
"weight": optional float, e.g. 2.0 to count a correction twice}.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import collect_examples, embeddings, var_dir
from .config import default_config, embedding_precision, embedding_threads, profile
from .cv import cross_validate
from .data import DataError
from .model import UnderstandingModel


def retrain(data_files: Sequence[str | Path] = (), *, extra_examples: Sequence[dict] | None = None,
            include_shipped: bool = True, out: str | Path | None = None, folds: int = 5, cv: bool = True,
            log: Callable[[str], None] = print) -> tuple[UnderstandingModel, Path, dict]:
    """Train on the shipped data (unless include_shipped=False), `data_files` and `extra_examples`;
    print and return the cross-validated scores (unless cv=False); save the model to `out`
    (default $BATON_VAR_DIR/models/<version>.joblib). Returns (model, path, scores)."""
    examples = collect_examples(data_files, extra_examples=extra_examples, include_shipped=include_shipped)
    if not examples:
        raise DataError("no labelled examples to train on")
    counts = {label: sum(label in e and not e.get("auxiliary") for e in examples)
              for label in ("sentiment", "intent", "is_complaint", "promise", "is_spam")}
    log(f"{len(examples)} examples; labelled rows: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    with embeddings.remembering():  # cross-validation and training share one encoding of each text
        return _retrain(examples, data_files, extra_examples, include_shipped, out, folds, cv, log)


def _retrain(examples, data_files, extra_examples, include_shipped, out, folds, cv, log):
    config = default_config()
    log(f"profile: {profile().describe()}")
    if config["embeddings"]:
        texts = list(dict.fromkeys(e["text"] for e in examples))
        log(f"sentence embeddings ({embeddings.describe(config)}) for {len(texts)} texts:")
        started = time.perf_counter()
        embeddings.encode(texts, layers=config["embedding_layers"], precision=embedding_precision(config),
                          threads=embedding_threads(config), progress=True)
        log(f"  ({time.perf_counter() - started:.0f}s)")
    scores: dict = {}
    if cv:
        log(f"{folds}-fold stratified cross-validation:")
        started = time.perf_counter()
        scores = cross_validate(examples, folds=folds, config=config, log=lambda line: log("  " + line))
        log(f"  ({time.perf_counter() - started:.0f}s)")
    started = time.perf_counter()
    sources = ["shipped data"] if include_shipped else []
    sources += [str(f) for f in data_files]
    if extra_examples:
        sources.append(f"{len(extra_examples)} extra examples")
    model = UnderstandingModel(config).fit(examples, description="; ".join(sources))
    log(f"trained {model.version} in {time.perf_counter() - started:.0f}s")
    path = Path(out) if out else var_dir() / "models" / f"{model.version}.joblib"
    model.save(path)
    log(f"saved {path}")
    return model, path, scores
