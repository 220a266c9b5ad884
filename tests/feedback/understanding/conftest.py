import pytest

from feedback.understanding import UnderstandingModel
from feedback.understanding.data import DATA_DIR, read_csv
from feedback.understanding.model import CONFIG


def small_examples() -> list[dict]:
    """A small slice of the shipped training data: trains in a few seconds."""
    airline = read_csv(DATA_DIR / "airline.csv")[::4]
    complaints = read_csv(DATA_DIR / "complaints.csv")[::2]
    spam = read_csv(DATA_DIR / "spam.csv")[::2]
    intents = read_csv(DATA_DIR / "intents.csv")
    not_spam = [{"text": e["text"], "is_spam": False, "weight": 0.1} for e in complaints[::10]]
    return airline + complaints + spam + intents + not_spam


@pytest.fixture(scope="session")
def examples():
    return small_examples()


@pytest.fixture(scope="session")
def small_model(examples):
    """The cascade (CONFIG), on any CPU: the default mode picks it only where bfloat16 is native."""
    return UnderstandingModel(CONFIG).fit(examples, description="test slice")


@pytest.fixture(autouse=True)
def _var_dir(tmp_path, monkeypatch):
    """Never write the real var/: each test gets its own BATON_VAR_DIR."""
    monkeypatch.setenv("BATON_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("BATON_UNDERSTANDING_MODEL", raising=False)
