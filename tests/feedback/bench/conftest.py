import pytest


@pytest.fixture
def test_database_url(settings, monkeypatch):
    """DATABASE_URL naming the test database, for the processes a bench starts (a worker, gunicorn)."""
    database = settings.DATABASES["default"]
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url
