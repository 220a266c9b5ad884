"""bench understand: the whole understanding layer on one process, in batches as the worker runs it."""

import os
import sys
import time
from contextlib import contextmanager

from feedback.bench.common import sample_texts
from feedback.understanding import load_default
from feedback.understanding.adapter import understand_texts
from feedback.understanding.promises import active_vocabulary

BATCH = 250


def add_arguments(parser):
    parser.add_argument("--n", type=int, default=20_000, help="Texts to understand (default 20000).")
    parser.add_argument("--engine", choices=["model", "rules"], default=None,
                        help="Understanding engine (default: settings.BATON_UNDERSTANDING_ENGINE).")
    parser.add_argument("--threads", type=int, default=1,
                        help="Torch threads for the sentence embedding (default 1: one core, as each worker "
                             "child runs it).")


def run(*, n: int, engine: str | None, threads: int = 1, out) -> dict:
    if n < 1:
        raise ValueError("--n must be at least 1")
    if threads < 1:
        raise ValueError("--threads must be at least 1")
    with _torch_threads(threads):
        return _run(n=n, engine=engine, out=out)


@contextmanager
def _torch_threads(threads: int):
    """BATON_EMBEDDING_THREADS (read when the embedding model loads) and, when torch is already
    loaded in this process, its thread count; both restored afterwards."""
    before = os.environ.get("BATON_EMBEDDING_THREADS")
    torch = sys.modules.get("torch")
    torch_before = torch.get_num_threads() if torch else None
    os.environ["BATON_EMBEDDING_THREADS"] = str(threads)
    if torch:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("BATON_EMBEDDING_THREADS", None)
        else:
            os.environ["BATON_EMBEDDING_THREADS"] = before
        torch = sys.modules.get("torch")
        if torch:
            # Here, not at the top: embeddings brings NumPy, which the rules engine's run never needs.
            from feedback.understanding.embeddings import threads as embedding_threads

            torch.set_num_threads(torch_before or embedding_threads())


def _run(*, n: int, engine: str | None, out) -> dict:
    texts = sample_texts()
    texts = [texts[i % len(texts)] for i in range(n)]
    vocabulary = active_vocabulary()
    started = time.perf_counter()
    warm = understand_texts(texts[:1], promises=vocabulary, engine=engine)  # loads (or trains) the model
    version = warm[0].model_version
    embedding, model = None, None
    if version.startswith("understanding-"):
        from feedback.understanding import embeddings  # here: NumPy, and torch behind it, only for the model
        from feedback.understanding.config import embedding_precision, embedding_threads

        model = load_default()
        if model.config.get("embeddings"):
            # torch and the encoder load here (a worker child: on its first batch)
            precision, threads = embedding_precision(model.config), embedding_threads(model.config)
            embeddings.encode(["warm-up"], layers=model.config.get("embedding_layers"), precision=precision,
                              threads=threads)
            mode = "the posts the fast heads are unsure of" if model.fast_heads is not None else "every post"
            embedding = (f"{embeddings.describe(model.config)} on {mode}, {precision}, "
                         f"{threads or embeddings.threads()} torch threads")
    load_s = time.perf_counter() - started
    out(f"bench understand: {n} texts, batches of {BATCH}, model {version} (load {load_s:.1f} s), one process, "
        f"sentence embedding: {embedding or 'none'}")
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, n, BATCH):
        understand_texts(texts[start : start + BATCH], promises=vocabulary, engine=engine)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    out(f"  {n / elapsed:,.0f} mentions/s wall clock, {n / cpu:,.0f} per CPU second")
    embedded_share = None
    if embedding:  # outside the timing: how many of these posts the cascade embedded
        sample = texts[: min(n, 2000)]
        embedded_share = round(sum(r["embedded"] for r in model.predict(sample)) / len(sample), 3)
        out(f"  {embedded_share:.1%} of the posts were embedded")
    return {
        "bench": "understand",
        "n": n,
        "model_version": version,
        "mentions_per_s": round(n / elapsed, 1),
        "mentions_per_cpu_s": round(n / cpu, 1),
        "load_s": round(load_s, 2),
        "embedding": embedding,
        "embedded_share": embedded_share,
        "cores": os.cpu_count(),
    }
