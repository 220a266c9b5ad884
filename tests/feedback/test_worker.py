"""process_mention on a real Celery worker, on both stacks.

Server stack: a worker thread (celery.contrib.testing) on the Redis broker that `make test` configures.
Embedded stack: the way `make run` runs it, SQLite and the filesystem broker in a temporary
directory, with a real `celery worker` process.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections

from config.celery import app
from feedback.choices import MentionStatus
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention
from tests.concurrency import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_on_redis_processes_a_mention(settings, default_model_path):
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "make test runs the worker on Redis"
    settings.BATON_UNDERSTANDING_ENGINE = "model"  # the default, as `make run` uses it
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")

    def close_worker_connections(**kwargs):
        connections.close_all()  # the worker thread's own connection; else the test DB cannot be dropped

    task_postrun.connect(close_worker_connections, weak=False)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        mention, created = store_mention(
            source="x", external_id="worker-redis-1", text="@airline my bag never arrived, still waiting",
            posted_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), author_handle="redis_rita",
        )
        assert created
        processed = wait_for(
            lambda: Mention.objects.filter(pk=mention.pk, status=MentionStatus.PROCESSED).exists()
        )
    task_postrun.disconnect(close_worker_connections)
    assert processed, "the worker did not process the mention within 30 s"
    mention.refresh_from_db()
    assert mention.model_version.startswith("understanding-")
    assert mention.is_complaint
    assert mention.case is not None
    assert mention.case.department.slug == "service"
    assert mention.customer.identities.get().handle == "redis_rita"


@pytest.mark.worker
@pytest.mark.slow
def test_worker_on_embedded_stack_processes_a_mention(tmp_path, default_model_path):
    """SQLite in WAL mode and kombu's filesystem broker, as `make run` uses them, with the
    learned understanding model (the trained file is shared so the worker need not train it)."""
    env = {
        **os.environ,
        "BATON_UNDERSTANDING_ENGINE": "model",
        "BATON_UNDERSTANDING_MODEL": str(default_model_path),
        "DJANGO_DEBUG": "true",
        "BATON_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'baton.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://localhost/",
        "REDIS_URL": "",
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    worker = subprocess.Popen(
        [python, "-m", "celery", "-A", "config", "worker", "--concurrency=1", "--without-mingle", "--without-gossip",
         "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        subprocess.run(
            [python, "manage.py", "shell", "-c",
             "from datetime import UTC, datetime\n"
             "from feedback.intake.ingest import store_mention\n"
             "store_mention(source='x', external_id='embedded-1', text='@airline thanks for the upgrade, great crew!',"
             " posted_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), author_handle='sqlite_sam')"],
            cwd=ROOT, env=env, check=True, timeout=60,
        )
        database = sqlite3.connect(tmp_path / "baton.sqlite3", timeout=30)

        def status():
            return database.execute(
                "SELECT status, case_id, model_version FROM feedback_mention WHERE external_id = 'embedded-1'"
            ).fetchone()

        assert wait_for(lambda: status() and status()[0] == MentionStatus.PROCESSED, timeout=60), (
            f"not processed; mention row: {status()}"
        )
        department = database.execute(
            "SELECT d.slug FROM feedback_case c JOIN teams_department d ON d.id = c.department_id WHERE c.id = ?",
            (status()[1],),
        ).fetchone()[0]
        assert department == "marketing"  # praise goes to marketing
        assert status()[2].startswith("understanding-")
        assert database.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        database.close()
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
    assert "feedback.tasks.process_mention" in output
    assert "No hostname was supplied" not in output, "the default broker URL names its host: no warning in the log"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_mentions_accepted_while_the_broker_is_down_are_processed_when_it_is_back(settings):
    """The web process stores a mention although it cannot reach the broker; the recovery task
    re-enqueues it once the broker answers, and a real worker processes it."""
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",  # nothing listens there: the broker is down
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from datetime import UTC, datetime\n"
         "from feedback.intake.ingest import store_mention\n"
         "m, created = store_mention(source='x', external_id='broker-down-1', text='@airline lost my bag again',"
         " posted_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), author_handle='offline_olga')\n"
         "print('stored', created)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stored True" in result.stdout
    mention = Mention.objects.get(source="x", external_id="broker-down-1")
    assert mention.status == MentionStatus.RECEIVED

    from feedback.tasks import recover_unprocessed_mentions

    settings.BATON_RECOVER_AFTER = timedelta(0)
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")

    def close_worker_connections(**kwargs):
        connections.close_all()

    task_postrun.connect(close_worker_connections, weak=False)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert recover_unprocessed_mentions.run() == 1
        processed = wait_for(lambda: Mention.objects.filter(pk=mention.pk, status=MentionStatus.PROCESSED).exists())
    task_postrun.disconnect(close_worker_connections)
    assert processed


@pytest.mark.worker
@pytest.mark.slow
def test_ctrl_c_under_honcho_stops_the_worker_with_a_warm_shutdown(tmp_path):
    """`make run` runs the Procfile with honcho; Ctrl-C (SIGINT to honcho) must stop the worker the
    way Celery wants (warm shutdown: its pool processes stop in order), before honcho's 5 seconds are
    up and it sends SIGKILL."""
    procfile = tmp_path / "Procfile"
    worker_line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("worker:"))
    procfile.write_text(worker_line + "\n")
    env = {
        **os.environ,
        "BATON_UNDERSTANDING_ENGINE": "rules",
        "DJANGO_DEBUG": "true",
        "BATON_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'baton.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://localhost/",
        "REDIS_URL": "",
        "WORKER_CONCURRENCY": "2",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    honcho = subprocess.Popen(
        [str(Path(sys.executable).parent / "honcho"), "-f", str(procfile), "-d", str(ROOT), "start"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: list[str] = []

    def read():
        for line in honcho.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        assert wait_for(lambda: any(" ready." in line for line in lines), timeout=90), "".join(lines[-30:])
        honcho.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends honcho
        honcho.wait(timeout=30)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
    output = "".join(lines)
    assert "SIGKILL" not in output, output[-3000:]
    assert "Warm shutdown" in output, output[-3000:]
    assert "exited with 'signal" not in output, output[-3000:]  # no pool process killed under a task
    assert "worker.1 stopped (rc=0)" in output, output[-3000:]


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_stopping_honcho_lets_the_worker_finish_its_task_and_exit_cleanly(settings, tmp_path, service_agent):
    """Ctrl-C on `make run`: honcho sends SIGTERM to the worker's process group. The Procfile runs the worker through
    config.procfile_worker, which forwards one SIGTERM to Celery's main process only: a warm shutdown. A reply being
    posted at that moment is finished (the platform answers, the reply is recorded as sent), and the worker exits 0
    on its own, not killed."""
    from feedback.intake.models import Account
    from feedback.replies import services as replies
    from feedback.replies.models import Reply, ReplyStatus
    from feedback.replies.rules import CONSIDERATIONS
    from tests.factories import CaseFactory, MentionFactory
    from tests.fakeplatform import FakePlatform
    from tests.servers import database_url

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")
    x = FakePlatform(post_delay=4).start()  # the post is still on its way when Ctrl-C comes
    x.answer((201, {"data": {"id": "1700000000000000001", "text": "..."}}))
    log = tmp_path / "worker.log"
    try:
        account = Account.objects.create(platform="x", slug="airline-x", handle="airline", platform_user_id="42")
        replies.set_sending_token(account=account, token="oauth2-user-token-xyz")
        case = CaseFactory()
        MentionFactory(case=case, customer=case.customer, source="x", external_id="1460323737035677698")
        with open(log, "w") as out:
            launcher = subprocess.Popen(
                [sys.executable, "-m", "config.procfile_worker", "-A", "config", "worker", "--concurrency=2",
                 "-Q", "celery", "-n", "ctrl-c@%h", "--without-mingle", "--without-gossip", "--loglevel=INFO"],
                cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url(settings), "BATON_X_API_URL": x.url},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,  # honcho gives each its own group
            )
        try:
            assert wait_for(lambda: "ready." in log.read_text(), timeout=90), log.read_text()[-2000:]
            reply = replies.compose_reply(case=case, by=service_agent, text="Sorry, we are on it.",
                                          considerations=[key for key, _ in CONSIDERATIONS])
            assert wait_for(lambda: len(x.seen("POST")) == 1, timeout=60), "the worker never posted"
            os.killpg(launcher.pid, signal.SIGTERM)  # what honcho does on Ctrl-C
            assert launcher.wait(timeout=60) == 0
        finally:
            if launcher.poll() is None:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()
    finally:
        x.stop()
    output = log.read_text()
    assert "Warm shutdown" in output and "WorkerLostError" not in output, output[-2000:]
    reply = Reply.objects.get(pk=reply.pk)
    assert (reply.status, reply.platform_id) == (ReplyStatus.SENT, "1700000000000000001")
    assert len(x.seen("POST")) == 1
