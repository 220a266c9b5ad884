"""The suite on several processes (pytest-xdist, `make test` runs `-n 2`): each worker gets its own Redis.

pytest-django gives each worker its own test database already (test_<name>_gw0, _gw1, ...; the tests that start
processes pass settings.DATABASES on, so those use it too). The Redis databases are this plugin's: the broker's
queues (tests/broker.py takes every message off the queue "celery", so two workers on one broker would run each
other's tasks) and the cache (tests empty it with cache.clear(); rate-limit counters and locks live there).
Worker gwK uses the configured broker and cache database numbers minus 2K: gw0 keeps CELERY_BROKER_URL and
REDIS_URL as given (`make test`: 15 and 14), gw1 takes 13 and 12, and so on. Processes a test starts inherit them.

Loaded with `-p tests.parallel` (pyproject.toml's addopts), so it rewrites the environment when pytest imports it,
before pytest-django loads the settings; xdist sets PYTEST_XDIST_WORKER (gw0, gw1, ...) in a worker's environment
before pytest starts there. Outside xdist nothing changes.

Each worker also runs numpy's and scikit-learn's maths on one thread (OpenBLAS, OpenMP), unless the environment
says otherwise: the workers are the parallelism, and OpenBLAS threads that wait for a busy core spin. The default
model's 5-fold cross-validation took 131 s with 2 threads per process and 33 s with one, on a loaded 2-core machine.
"""

import os
import re

STEP = 2  # Redis databases per worker: the broker's and the cache's
_REDIS_DB = re.compile(r"^(rediss?://[^/]*/)(\d+)$")


def worker_index() -> int:
    """0 for gw0 or no xdist, K for gwK."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def shifted(url: str, by: int) -> str:
    """A redis:// URL whose database number is `by` lower; other URLs (a filesystem broker, none) as they are."""
    match = _REDIS_DB.match(url.rstrip("/"))
    if not match or by == 0:
        return url
    number = int(match[2]) - by
    if number < 0:
        raise RuntimeError(f"{url} leaves no Redis database for xdist worker {os.environ['PYTEST_XDIST_WORKER']}: "
                           f"run fewer workers (-n) or give higher database numbers (it takes {STEP} per worker)")
    return f"{match[1]}{number}"


def _database(url: str) -> int | None:
    match = _REDIS_DB.match(url.rstrip("/"))
    return int(match[2]) if match else None


def _per_worker_redis() -> None:
    broker, cache = (_database(os.environ.get(name, "")) for name in ("CELERY_BROKER_URL", "REDIS_URL"))
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    if broker is not None and cache is not None and broker != cache and (broker - cache) % STEP == 0 \
            and abs(broker - cache) < STEP * workers:
        raise RuntimeError(f"Redis databases {broker} (broker) and {cache} (cache): with {workers} xdist workers, one "
                           f"worker's broker would be another's cache; give adjacent numbers (e.g. 15 and 14)")
    by = STEP * worker_index()
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        if os.environ.get(name):
            os.environ[name] = shifted(os.environ[name], by)


def _one_maths_thread() -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")


_per_worker_redis()
_one_maths_thread()
