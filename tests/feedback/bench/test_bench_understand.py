import json
import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.feedback.understanding.conftest import needs_embeddings


@pytest.mark.django_db
def test_bench_understand_ends_with_one_json_line_of_figures():
    out = StringIO()
    call_command("bench", "understand", "--n", "60", "--engine", "rules", stdout=out)
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert figures["bench"] == "understand"
    assert figures["n"] == 60
    assert figures["model_version"] == "rules-1"
    assert figures["mentions_per_s"] > 0


@pytest.fixture(scope="module")
def cascade_model_file(tmp_path_factory):
    """A small cascade model (the cascade profile, one torch thread), trained once."""
    from feedback.understanding.model import UnderstandingModel
    from tests.feedback.understanding.conftest import CASCADE, small_examples

    path = tmp_path_factory.mktemp("models") / "cascade.joblib"
    UnderstandingModel(CASCADE).fit(small_examples()[::6]).save(path)
    return path


@pytest.fixture
def cascade_model(cascade_model_file, monkeypatch):
    """The small cascade model, served as the default model."""
    from feedback.understanding import reset_default

    monkeypatch.setenv("BATON_UNDERSTANDING_MODEL", str(cascade_model_file))
    reset_default()
    yield cascade_model_file
    reset_default()


@needs_embeddings
@pytest.mark.django_db
def test_bench_understand_with_the_cascade_reports_what_it_embedded(cascade_model):
    out = StringIO()
    call_command("bench", "understand", "--n", "300", "--engine", "model", stdout=out)
    lines = out.getvalue().strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["model_version"].startswith("understanding-") and figures["n"] == 300
    assert "unsure of" in figures["embedding"]
    assert 0 < figures["embedded_share"] < 0.5, "the cascade embeds a minority of the posts"
    assert any("of the posts were embedded" in line for line in lines)
    assert "1 torch threads" in figures["embedding"], "one core by default, as a worker child runs it"


@pytest.mark.django_db
def test_bench_understand_with_the_default_model(default_model_path):
    out = StringIO()
    call_command("bench", "understand", "--n", "300", "--engine", "model", stdout=out)
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert figures["model_version"].startswith("understanding-4-fast+") and figures["mentions_per_s"] > 0
    assert figures["embedding"] is None and figures["embedded_share"] is None, "the default embeds nothing"


@needs_embeddings
@pytest.mark.django_db
def test_bench_understand_threads_apply_to_the_run_only(cascade_model, monkeypatch):
    import torch

    monkeypatch.setenv("BATON_EMBEDDING_THREADS", "2")
    torch.set_num_threads(2)
    out = StringIO()
    call_command("bench", "understand", "--n", "50", "--engine", "model", "--threads", "1", stdout=out)
    assert "1 torch threads" in json.loads(out.getvalue().strip().splitlines()[-1])["embedding"]
    assert torch.get_num_threads() == 2 and os.environ["BATON_EMBEDDING_THREADS"] == "2"


@pytest.mark.django_db
def test_bench_understand_refuses_a_bad_count():
    with pytest.raises(CommandError) as excinfo:
        call_command("bench", "understand", "--n", "0")
    assert excinfo.value.returncode == 2
    with pytest.raises(CommandError, match="--threads must be at least 1"):
        call_command("bench", "understand", "--n", "10", "--threads", "0")
