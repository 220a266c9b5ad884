import importlib.util

import pytest

from feedback.understanding import UnderstandingModel
from feedback.understanding.config import CONFIG, RuntimeProfile, reset_profile
from feedback.understanding.data import DATA_DIR, read_csv

# The sentence embedding is an optional extra (requirements-embeddings.txt): its tests run when
# torch is importable and are skipped, saying how to run them, when it is not.
needs_embeddings = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="the embeddings extra is not installed; `EMBEDDINGS=1 make test` installs it and runs these tests",
)

# The cascade profile's model configuration (the whole encoder on 15% of the posts, fp32)
CASCADE = RuntimeProfile(mode="cascade", layers=6, share=0.15, precision="fp32", threads=1).model_config()


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
    """The fast model (CONFIG: the default profile), trained on the small slice."""
    return UnderstandingModel(CONFIG).fit(examples, description="test slice")


@pytest.fixture(scope="session")
def cascade_model(examples):
    """The cascade, trained on a sixth of the small slice (every post it trains on is embedded)."""
    return UnderstandingModel(CASCADE).fit(examples[::6], description="test slice, cascade")


@pytest.fixture(autouse=True)
def _var_dir(tmp_path, monkeypatch):
    """Never write the real var/: each test gets its own BATON_VAR_DIR."""
    monkeypatch.setenv("BATON_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("BATON_UNDERSTANDING_MODEL", raising=False)


@pytest.fixture
def fresh_profile():
    """The runtime profile is resolved again from the environment in the test, and after it."""
    reset_profile()
    yield
    reset_profile()
