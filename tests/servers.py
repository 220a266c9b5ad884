"""A real web server for tests: gunicorn serving Baton on the test database, as the Procfile runs it."""

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

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


@contextmanager
def web_process(settings, log_path: Path, broker_url: str, *, env: dict | None = None,
                gunicorn_args: tuple[str, ...] = ("--workers", "1")):
    """gunicorn serving Baton on the test database with `broker_url` (and `env` on top); yields its base URL."""
    database = settings.DATABASES["default"]
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
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
        web.terminate()
        try:
            web.wait(timeout=20)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait()
