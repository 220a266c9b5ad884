import fcntl
import logging
import os

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from feedback.understanding.config import reset_profile
from tests.broker import TaskQueue
from tests.factories import MembershipFactory, UserFactory, department

# The understanding settings of the runtime profile (feedback/understanding/config.py)
PROFILE_SETTINGS = ("BATON_UNDERSTANDING_EMBEDDINGS", "BATON_EMBEDDING_LAYERS", "BATON_CASCADE_SHARE",
                    "BATON_EMBEDDING_PRECISION", "BATON_EMBEDDING_THREADS", "BATON_UNDERSTANDING_MODEL")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "rules_engine: the test is about the rules engine (rules-1), so it runs with it instead of the model")


@pytest.fixture(autouse=True, scope="session")
def _test_settings(tmp_path_factory):
    """Settings for tests that run with DJANGO_DEBUG=false:
    - fast password hashing: every factory user has password "pw"; the production hasher spends ~0.3 s on each;
    - plain-HTTP test clients: otherwise every request is redirected to HTTPS (the deployment check covers it);
    - understanding as production runs it: the learned model, in the default runtime profile (the
      fast model: whatever a developer's environment says, the suite tests the default);
    - static files without the manifest, so pages render without running collectstatic first
      (and an empty STATIC_ROOT, so WhiteNoise does not warn that it is missing).
    """
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with pytest.MonkeyPatch.context() as environment, override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        SECURE_SSL_REDIRECT=False,
        BATON_UNDERSTANDING_ENGINE="model",
        STORAGES=storages,
        STATIC_ROOT=tmp_path_factory.mktemp("staticfiles"),
    ):
        for name in PROFILE_SETTINGS:
            environment.delenv(name, raising=False)
        reset_profile()
        if os.environ.get("PYTEST_XDIST_WORKER"):
            _load_default_model_once()
        yield
    reset_profile()


def _load_default_model_once() -> None:
    """With xdist (tests/parallel.py), each worker starts with the default model loaded, as a serial run has it
    by the time the tests of feedback/understanding (which read posts with their own empty BATON_VAR_DIR) run.
    Its cache file in var/models is made first: the first worker trains it while the others wait on a file
    lock, then find it, instead of each training it at once."""
    from feedback.understanding import default_model_path, load_default, prepare_default

    folder = default_model_path().parent
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        prepare_default()
    load_default()


@pytest.fixture(autouse=True)
def _default_model_kept():
    """A test that resets the per-process default model (understanding.reset_default, to serve another) gets
    the one loaded before it put back when it ends: the next test that reads posts does not train it again.
    (One loaded by a test when none was stays loaded, as before.)"""
    from feedback import understanding

    loaded = understanding._default
    yield
    if loaded is not None:
        understanding._default = loaded


@pytest.fixture(autouse=True)
def _root_log_level():
    """An in-process Celery worker (celery.contrib.testing's start_worker) can leave the root logger at ERROR
    (its log set-up runs again for the second worker started in one process): the level is put back after each
    test, so a later test's caplog sees warnings whichever tests ran before it in this process (xdist changes
    which those are)."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _rules_engine(request):
    """Tests marked `rules_engine` (they are about rules-1) run with the rules engine."""
    if request.node.get_closest_marker("rules_engine") is None:
        yield
        return
    with override_settings(BATON_UNDERSTANDING_ENGINE="rules"):
        yield


@pytest.fixture(scope="session")
def default_model_path():
    """The default understanding model, trained once in a separate process as the worker does it
    (or read from the cache in BATON_VAR_DIR)."""
    from feedback.understanding import default_model_path, load_default, prepare_default

    prepare_default()
    assert default_model_path().is_file()
    load_default()
    return default_model_path()


@pytest.fixture
def api_user(db):
    user = UserFactory(username="integration")
    user.user_permissions.add(Permission.objects.get(codename="add_mention", content_type__app_label="feedback"))
    return user


@pytest.fixture
def api_client(api_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=api_user).key}")
    return client


@pytest.fixture
def service_agent(db):
    return MembershipFactory(user=UserFactory(username="service-agent"), department=department("service")).user


@pytest.fixture
def sales_agent(db):
    return MembershipFactory(user=UserFactory(username="sales-agent"), department=department("sales")).user


@pytest.fixture(autouse=True)
def default_departments_and_policies(request):
    """Departments and SLA policies come from data migrations, but a `transaction=True` test
    flushes every table when it ends; put the defaults back for each database test."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    if marker is None and not uses_db:
        return
    from feedback.routing.services import ensure_default_rules
    from feedback.sla.clocks import ensure_default_policies
    from teams.services import ensure_default_departments

    transactional = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db", "live_server"
    } & set(request.fixturenames)
    request.getfixturevalue("transactional_db" if transactional else "db")
    ensure_default_departments()
    ensure_default_policies()
    ensure_default_rules()


@pytest.fixture
def task_queue():
    """The broker's task queue, emptied first: `.run()` runs what services enqueued (tests/broker.py)."""
    queue = TaskQueue()
    queue.purge()
    return queue


@pytest.fixture
def integration_key(db):
    """Make an integration token (feedback.integrations) with the given scopes; returns its key."""
    from feedback.integrations.scopes import SCOPES
    from feedback.integrations.services import create_token

    admin = UserFactory(username="token-admin", is_superuser=True, is_staff=True)

    def make(scopes=SCOPES, *, name="CRM", rate_per_minute=None) -> str:
        return create_token(name=name, scopes=list(scopes), by=admin, rate_per_minute=rate_per_minute)[1]

    return make


@pytest.fixture
def crm_client(integration_key):
    """An APIClient with an integration token holding every scope."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {integration_key()}")
    return client
