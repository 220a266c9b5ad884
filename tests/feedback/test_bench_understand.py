import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.django_db
def test_bench_understand_ends_with_one_json_line_of_figures():
    out = StringIO()
    call_command("bench", "understand", "--n", "60", "--engine", "rules", stdout=out)
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert figures["bench"] == "understand"
    assert figures["n"] == 60
    assert figures["model_version"] == "rules-1"
    assert figures["mentions_per_s"] > 0


@pytest.mark.django_db
def test_bench_understand_with_the_default_model_reports_what_the_cascade_embedded(default_model_path):
    out = StringIO()
    call_command("bench", "understand", "--n", "300", "--engine", "model", stdout=out)
    lines = out.getvalue().strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["model_version"].startswith("understanding-") and figures["n"] == 300
    assert "unsure of" in figures["embedding"]
    assert 0 < figures["embedded_share"] < 0.5, "the cascade embeds a minority of the posts"
    assert any("of the posts were embedded" in line for line in lines)


@pytest.mark.django_db
def test_bench_understand_refuses_a_bad_count():
    with pytest.raises(CommandError) as excinfo:
        call_command("bench", "understand", "--n", "0")
    assert excinfo.value.returncode == 2
