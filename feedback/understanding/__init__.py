"""Baton's understanding model core: labels a post's text (pure Python, no Django).

    from feedback.understanding import load_default
    model = load_default()                # trained from the shipped data at first use, then cached
    model.version
    model.predict(["@united lost my bag again"])   # -> [{"sentiment": {...}, "intent": {...}, ...}]

`train(datasets, extra_examples=...)` fits a new model; `model.save(path)` / `load(path)`.
The default model is cached in $BATON_VAR_DIR/models/understanding-<version>.joblib
(BATON_VAR_DIR defaults to the project's var/ folder).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING

from .config import (
    ALGORITHM_VERSION,
    CONFIG,
    MODEL_NAME,
    ProfileError,
    RuntimeProfile,
    code_fingerprint,
    default_config,
    profile,
    version_of,
)
from .data import (
    LABELS,
    DataError,
    normalise_example,
    read_csv,
    shipped_examples,
    shipped_fingerprint,
    with_auxiliary_not_spam,
)

# The model module brings scikit-learn, SciPy and NumPy (most of a second to import): load it only
# when a model is trained or used, not in every process that imports this package (the web
# process imports `text` for the assessment rules).
if TYPE_CHECKING:
    from .model import UnderstandingModel

_LAZY = {"UnderstandingModel": "model", "load": "model", "cross_validate": "cv"}


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["ALGORITHM_VERSION", "CONFIG", "DataError", "LABELS", "MODEL_NAME", "ProfileError", "RuntimeProfile",
           "UnderstandingModel", "collect_examples", "cross_validate", "default_model_path", "default_version", "load",
           "load_default", "profile", "reset_default", "train", "train_default", "var_dir"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_default = None  # the default UnderstandingModel, once loaded


def var_dir() -> Path:
    return Path(os.environ.get("BATON_VAR_DIR") or Path(__file__).resolve().parents[2] / "var")


def default_version() -> str:
    """The default model's version: the algorithm version and the profile's mode, plus a
    fingerprint of the shipped data, the code, the configuration (the runtime profile's part
    included) and the scikit-learn version (a new scikit-learn retrains rather than unpickling a
    model it may not read)."""
    config = default_config()
    digest = hashlib.sha1()
    digest.update(shipped_fingerprint().encode())
    digest.update(code_fingerprint().encode())  # any change to the code retrains
    digest.update(repr((ALGORITHM_VERSION, sorted(config.items()), package_version("scikit-learn"))).encode())
    return version_of(config, digest.hexdigest())


def default_model_path() -> Path:
    return var_dir() / "models" / f"{default_version()}.joblib"


def collect_examples(datasets: Iterable = (), *, extra_examples: Sequence[dict] | None = None,
                     include_shipped: bool = False) -> list[dict]:
    """Examples from the shipped files (optional), labelled CSV paths or lists of row dicts in
    `datasets`, and `extra_examples` (dicts with "text", any label keys, optional "weight")."""
    examples = shipped_examples(auxiliary=False) if include_shipped else []
    for dataset in datasets:
        if isinstance(dataset, (str, Path)):
            examples.extend(read_csv(dataset, require_labels=True))
        else:
            examples.extend(normalise_example(row) for row in dataset)
    if extra_examples:
        # Hook for company corrections: a person's corrected labels, e.g.
        # {"text": ..., "intent": "idea", "weight": 2.0}
        examples.extend(normalise_example(row) for row in extra_examples)
    return with_auxiliary_not_spam(examples)


def train(datasets: Iterable = (), *, extra_examples: Sequence[dict] | None = None, include_shipped: bool = False,
          version: str | None = None, description: str = "") -> UnderstandingModel:
    """A model trained on `datasets` (CSV paths or lists of example dicts) plus `extra_examples`;
    with include_shipped=True the shipped training data comes first."""
    examples = collect_examples(datasets, extra_examples=extra_examples, include_shipped=include_shipped)
    if not examples:
        raise DataError("no labelled examples to train on")
    from .model import UnderstandingModel

    return UnderstandingModel(default_config()).fit(examples, version=version, description=description)


def prepare_default() -> None:
    """Make sure the default model's cache file exists, training it in a separate Python process
    when it does not. A process that then forks (the Celery worker's pool) loads the model from the
    file without ever starting torch, whose thread pools do not survive a fork."""
    if os.environ.get("BATON_UNDERSTANDING_MODEL") or default_model_path().is_file():
        return
    log.info("training the default understanding model in a separate process")
    code = "from feedback.understanding import load_default; load_default()"
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], check=False)
    if result.returncode:
        log.warning("training the understanding model apart failed (exit %s); training it here", result.returncode)


def reset_default() -> None:
    """Forget the per-process default model (tests; after retraining)."""
    global _default
    with _lock:
        _default = None


def train_default() -> UnderstandingModel:
    from .model import UnderstandingModel

    return UnderstandingModel(default_config()).fit(shipped_examples(), version=default_version(),
                                    description="shipped data: feedback/understanding/data/*.csv")


def load_default() -> UnderstandingModel:
    """The default model, once per process.

    With BATON_UNDERSTANDING_MODEL set, the model file it names (one `train_understanding`
    saved). Otherwise the model trained on the shipped data: loaded from its cache file, or
    trained (the fast model: about 15-30 s on one core) and cached there. The first call resolves
    and logs this process's runtime profile (config.profile)."""
    global _default
    if _default is not None:
        return _default
    from .model import load

    with _lock:
        if _default is not None:
            return _default
        profile()  # resolved (and logged) at start-up, even when a chosen file is served
        chosen = os.environ.get("BATON_UNDERSTANDING_MODEL")
        if chosen:
            _default = load(chosen)
            return _default
        path = default_model_path()
        model = None
        if path.is_file():
            try:
                model = load(path)
            except Exception:  # a corrupt or incompatible cache file: retrain
                log.warning("could not load %s, retraining the understanding model", path, exc_info=True)
        if model is None:
            log.info("training the default understanding model (%s)", path.name)
            model = train_default()
            try:
                model.save(path)
            except OSError:
                log.warning("could not cache the understanding model at %s", path, exc_info=True)
        _default = model
        return model
