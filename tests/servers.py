"""Real processes for tests on the test database: gunicorn serving Baton, as the Procfile runs it, and Celery
worker processes (which a test may kill)."""

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from tests.concurrency import wait_for

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    """The web process answers HTTP (with any status): its worker has loaded Baton."""
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def database_url(settings) -> str:
    """The test database's URL, for a process of Baton's own."""
    database = settings.DATABASES["default"]
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def worker_process(settings, *, queue: str, name: str, env: dict | None = None) -> subprocess.Popen:
    """A real `celery worker` (one process, the solo pool) on the test database and the broker `make test`
    configures, consuming only `queue`; `env` on top. The caller stops (or kills) it."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue, "-n", f"{name}@%h",
         "--without-mingle", "--without-gossip", "--loglevel=WARNING"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url(settings), **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen) -> None:
    """Stop a process started here: SIGTERM (a worker's warm shutdown), SIGKILL after 20 s."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def sessions_of_others() -> int:
    """Client sessions on the test database other than this test's own (a killed worker's ends with it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


@contextmanager
def web_process(settings, log_path: Path, broker_url: str, *, env: dict | None = None,
                gunicorn_args: tuple[str, ...] = ("--workers", "1")):
    """gunicorn serving Baton on the test database with `broker_url` (and `env` on top); yields its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(settings),
        "CELERY_BROKER_URL": broker_url,
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on the loopback, no TLS proxy in front
        **(env or {}),
    }
    with open(log_path, "w") as log:
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", *gunicorn_args,
             "--timeout", "120"],  # a loaded machine may take long to import Baton: no restarts meanwhile
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        ready = wait_for(lambda: web.poll() is not None or answers(f"{base}/hooks/x/skyjet-x/"), timeout=120)
        assert ready and web.poll() is None, f"gunicorn did not start:\n{log_path.read_text()[-3000:]}"
        yield base
    finally:
        stop(web)
