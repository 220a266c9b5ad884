"""Helpers for tests about concurrency: real threads with their own database connections, and
waiting for a real worker."""

import threading
import time

from django.db import connections


def run_at_once(func, threads: int, *, timeout: float = 60) -> tuple[list, list]:
    """Call `func()` in `threads` threads released together by a barrier. Each thread closes its
    own database connections when done (else the test database cannot be dropped).
    Returns (results, errors) in no particular order."""
    barrier = threading.Barrier(threads)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(func())
        except Exception as exc:  # noqa: BLE001 - returned to the test, which asserts on it
            errors.append(exc)
        finally:
            connections.close_all()

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(timeout=timeout)
    return results, errors


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
