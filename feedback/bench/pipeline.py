"""bench pipeline: N mentions through the API path, processed by a real worker, end to end."""

import statistics
import time
import uuid
from datetime import UTC, datetime

from django.db.models import Count, Max, Min
from django.test import Client

from feedback.bench.common import WorkerProcess, bench_token, clean_prefix, sample_texts, stack, vacuum
from feedback.choices import MentionStatus
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention
from feedback.pipeline import process_mention

STAGE_SAMPLE = 300


def add_arguments(parser):
    parser.add_argument("--n", type=int, default=5000, help="Mentions to post (default 5000).")
    parser.add_argument("--workers", type=int, default=2, help="Worker processes to start (default 2).")
    parser.add_argument("--timeout", type=float, default=600, help="Seconds to wait for processing.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench's mentions, cases and customers.")


def _payload(prefix: str, i: int, text: str) -> dict:
    return {
        "source": "api",
        "external_id": f"{prefix}-{i}",
        "text": text,
        "posted_at": datetime.now(UTC).isoformat(),
        "author_handle": f"{prefix}-author-{i % max(1, 400)}",  # repeat authors, as real traffic does
        "author_followers": (i * 37) % 5000,
    }


def run(*, n: int, workers: int, timeout: float, keep: bool, out) -> dict:
    if n < 1:
        raise ValueError("--n must be at least 1")
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    texts = sample_texts()
    client = Client(HTTP_AUTHORIZATION=f"Token {bench_token()}", HTTP_HOST="127.0.0.1")
    out(f"bench pipeline: {n} mentions through POST /api/v1/mentions/, {workers} worker process(es), {stack()}")
    vacuum(out=out)  # what earlier runs deleted

    with WorkerProcess(concurrency=workers, name=prefix):
        started = time.perf_counter()
        for i in range(n):
            response = client.post(
                "/api/v1/mentions/", _payload(prefix, i, texts[i % len(texts)]), content_type="application/json",
                secure=True,  # as the web process sees a request behind the TLS proxy (no redirect to HTTPS)
            )
            if response.status_code != 201:
                raise RuntimeError(f"POST answered {response.status_code}: {response.content[:300]!r}")
            if (i + 1) % 1000 == 0:
                out(f"  posted {i + 1}/{n}")
        stored = time.perf_counter()
        mine = Mention.objects.filter(source="api", external_id__startswith=f"{prefix}-")
        done = 0
        while time.perf_counter() - started < timeout:
            done = mine.exclude(status=MentionStatus.RECEIVED).count()
            if done >= n:
                break
            time.sleep(0.2)
        finished = time.perf_counter()
    if done < n:
        raise RuntimeError(f"only {done} of {n} mentions were processed within {timeout:.0f} s")

    counts = dict(mine.values_list("status").annotate(c=Count("id")))
    window = mine.aggregate(first=Min("processed_at"), last=Max("processed_at"))
    latencies = sorted(
        (processed - received).total_seconds() for received, processed in mine.values_list("received_at", "processed_at")
    )
    processing_span = max((window["last"] - window["first"]).total_seconds(), 1e-6)

    stages = _stage_costs(prefix, texts)
    result = {
        "bench": "pipeline",
        "n": n,
        "workers": workers,
        **stack(),
        "mentions_per_s": round(n / (finished - started), 1),
        "store_per_s": round(n / (stored - started), 1),
        "process_per_s": round(n / processing_span, 1),
        "latency_p50_s": round(statistics.median(latencies), 3),
        "latency_p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 3),
        "failed": counts.get(MentionStatus.FAILED, 0),
        "stage_ms": stages,
    }
    out(f"  end to end: {result['mentions_per_s']}/s ({finished - started:.1f} s for {n})")
    out(f"  API store:  {result['store_per_s']}/s; worker processing: {result['process_per_s']}/s")
    out(f"  latency received->processed: p50 {result['latency_p50_s']} s, p95 {result['latency_p95_s']} s")
    out("  per stage, in process (ms per mention): " + ", ".join(f"{k} {v}" for k, v in stages.items()))
    if not keep:
        clean_prefix(prefix)
        vacuum(out=out)  # the next run starts from clean tables
    return result


def _stage_costs(prefix: str, texts: list[str]) -> dict[str, float]:
    """Time each pipeline stage in this process on a sample, through the same code the worker runs."""
    timings: dict[str, float] = {}
    ids = []
    for i in range(STAGE_SAMPLE):
        mention, _ = store_mention(enqueue=False, **_stage_payload(prefix, i, texts[i % len(texts)]))
        ids.append(mention.pk)
    started = time.perf_counter()
    for mention_id in ids:
        process_mention(mention_id=mention_id, timings=timings)
    total = time.perf_counter() - started
    stages = {name: round(seconds * 1000 / STAGE_SAMPLE, 3) for name, seconds in timings.items()}
    stages["total"] = round(total * 1000 / STAGE_SAMPLE, 3)
    return stages


def _stage_payload(prefix, i, text):
    payload = _payload(prefix, i, text)
    payload["external_id"] = f"{prefix}-stage-{i}"
    payload["posted_at"] = datetime.now(UTC)
    return payload
