import copy
import json

import numpy as np
import pytest

import feedback.understanding as understanding
from feedback.understanding import UnderstandingModel, cross_validate, load
from feedback.understanding.data import INTENTS, PROMISES

LABEL_KEYS = ("language", "sentiment", "intent", "is_complaint", "promise", "is_spam", "assessment")


def test_labels_obvious_examples(small_model):
    complaint, praise, spam = small_model.predict([
        "@united my flight was delayed 5 hours and now you lost my bag. Worst airline ever, still waiting for help",
        "@JetBlue thank you so much, the crew on my flight was amazing! Love you guys",
        "Check out my channel and subscribe please!!! http://youtube.com/xyz",
    ])
    assert complaint["sentiment"]["label"] == "negative"
    assert complaint["sentiment"]["compound"] < 0
    assert complaint["is_complaint"]["label"] is True
    assert complaint["intent"]["label"] == "complaint"
    assert complaint["promise"]["label"] in ("on_time", "bags_arrive")
    assert complaint["is_spam"]["label"] is False
    assert complaint["assessment"]["label"] == "rectify"
    assert complaint["language"]["label"] == "en"

    assert praise["sentiment"]["label"] == "positive"
    assert praise["intent"]["label"] == "praise"
    assert praise["is_complaint"]["label"] is False
    assert praise["assessment"]["label"] == "concur"

    assert spam["is_spam"]["label"] is True
    assert spam["intent"]["label"] == "spam_troll"
    assert spam["assessment"]["label"] == "ignore"


def test_every_label_has_confidence_and_version(small_model):
    [result] = small_model.predict(["@acme where can I buy the new model?"])
    assert result["version"] == small_model.version
    for key in LABEL_KEYS:
        assert 0.0 <= result[key]["confidence"] <= 1.0, key
        assert result[key]["version"] == small_model.version
    assert result["intent"]["label"] in INTENTS
    assert result["promise"]["best"] in PROMISES
    assert result["intent"]["label"] == "purchase_intent" and result["intent"]["source"] == "rule"
    # plain Python values only: the result goes to JSON and to the database as it is
    assert json.loads(json.dumps(result)) == result
    assert type(result["promise"]["best"]) is str and all(type(k) is str for k in result["intent"]["scores"])


def test_batch_edge_cases(small_model):
    assert small_model.predict([]) == []
    empty, none = small_model.predict(["", None])
    assert empty["language"]["label"] == "und" and none["sentiment"]["compound"] == 0.0


def test_save_and_load_round_trip(small_model, tmp_path):
    path = tmp_path / "m.joblib"
    small_model.save(path)
    loaded = load(path)
    texts = ["@united lost my bag", "great service today"]
    assert loaded.version == small_model.version
    assert loaded.predict(texts) == small_model.predict(texts)


def test_partial_training_leaves_missing_labels_empty():
    model = UnderstandingModel().fit([{"text": t, "sentiment": s} for t, s in [
        ("I love it", "positive"), ("great, thanks", "positive"), ("awful, broken", "negative"),
        ("terrible service", "negative"), ("it is a phone", "neutral"), ("the shop opens at 9", "neutral")]])
    [result] = model.predict(["I love this"])
    assert result["sentiment"]["label"] == "positive"
    assert result["is_complaint"]["label"] is None and result["promise"]["label"] is None


def test_version_changes_with_training_data(examples):
    a = UnderstandingModel().fit(examples[:400])
    b = UnderstandingModel().fit(examples[:400], version="custom-1")
    c = UnderstandingModel().fit(examples[:401])
    assert a.version.startswith("understanding-") and b.version == "custom-1" and c.version != a.version
    assert UnderstandingModel().fit(examples[:400]).version == a.version, "the same data, code and settings"


def test_version_changes_with_the_code(examples, monkeypatch):
    from feedback import understanding
    from feedback.understanding import model

    before, default_before = UnderstandingModel().fit(examples[:200]).version, understanding.default_version()
    monkeypatch.setattr(model, "code_fingerprint", lambda: "the code after a change to text.py")
    monkeypatch.setattr(understanding, "code_fingerprint", lambda: "the code after a change to text.py")
    assert UnderstandingModel().fit(examples[:200]).version != before
    assert understanding.default_version() != default_before


def test_cross_validate_small(examples):
    scores = cross_validate(examples[::3], folds=3, labels=("sentiment", "is_spam"))
    assert set(scores) == {"sentiment", "is_spam"}
    assert scores["sentiment"]["accuracy"] > 0.6 and scores["is_spam"]["accuracy"] > 0.8
    per_class = scores["sentiment"]["per_class"]
    assert set(per_class) == {"negative", "neutral", "positive"}
    assert sum(v["support"] for v in per_class.values()) == scores["sentiment"]["n"]
    assert per_class["negative"]["recall"] > 0.7


def test_load_default_trains_once_and_caches(small_model, monkeypatch):
    calls = []

    def fake_train():
        calls.append(1)
        model = copy.copy(small_model)
        model.version = understanding.default_version()
        return model

    monkeypatch.setattr(understanding, "train_default", fake_train)
    understanding.reset_default()
    try:
        first = understanding.load_default()
        assert understanding.load_default() is first and calls == [1]
        path = understanding.default_model_path()
        assert path.is_file() and path.name.startswith("understanding-")
        understanding.reset_default()
        monkeypatch.setattr(understanding, "train_default", lambda: pytest.fail("should load the cache"))
        assert understanding.load_default().version == first.version
    finally:
        understanding.reset_default()


def test_load_default_honours_model_override(small_model, tmp_path, monkeypatch):
    path = tmp_path / "chosen.joblib"
    small_model.save(path)
    monkeypatch.setenv("BATON_UNDERSTANDING_MODEL", str(path))
    understanding.reset_default()
    try:
        assert understanding.load_default().version == small_model.version
    finally:
        understanding.reset_default()


def test_prepare_default_leaves_a_cached_or_chosen_model_alone(small_model, tmp_path, monkeypatch):
    """The worker calls prepare_default before forking; the training-in-a-subprocess path itself
    runs in tests/feedback/test_worker.py (a real worker on a clean checkout's empty cache)."""
    monkeypatch.setattr(understanding.subprocess, "run", lambda *a, **k: pytest.fail("nothing to train"))
    small_model.save(understanding.default_model_path())
    understanding.prepare_default()
    understanding.default_model_path().unlink()
    monkeypatch.setenv("BATON_UNDERSTANDING_MODEL", str(tmp_path / "chosen.joblib"))
    understanding.prepare_default()


def test_a_post_is_spam_at_the_configured_threshold(small_model):
    import copy

    text = "check out my new song, link in my profile"
    [reading] = small_model.predict([text])
    X, _ = small_model.featurizer.transform([text])
    p = float(small_model.heads.spam_proba(X)[0])
    assert small_model.config["spam_threshold"] == 0.4
    above, below = copy.copy(small_model), copy.copy(small_model)
    above.config = {**small_model.config, "spam_threshold": p - 1e-6}
    below.config = {**small_model.config, "spam_threshold": p + 1e-6}
    assert above.predict([text])[0]["is_spam"]["label"] is True
    assert below.predict([text])[0]["is_spam"]["label"] is False
    assert reading["is_spam"]["label"] is (p >= 0.4)
    old = copy.copy(small_model)  # a model saved before the setting existed decides at 0.5
    old.config = {k: v for k, v in small_model.config.items() if k != "spam_threshold"}
    assert old.predict([text])[0]["is_spam"]["label"] is (p >= 0.5)


def test_the_heads_score_as_scikit_learn_does(small_model, examples, monkeypatch):
    """The linear heads compute their scores without scikit-learn's per-call input checks
    (`heads._scores`): the same answers as scikit-learn's own decision_function and predict_proba."""
    from feedback.understanding import heads

    texts = [e["text"] for e in examples[:300]] + ["@united ok"]
    ours = small_model.predict(texts)
    monkeypatch.setattr(heads, "_scores", lambda lr, X: lr.decision_function(X))
    monkeypatch.setattr(heads, "_binary_proba", lambda lr, X: lr.predict_proba(X))
    assert small_model.predict(texts) == ours


def test_the_fast_model_gives_a_post_the_same_labels_alone_and_in_any_batch(small_model, examples):
    texts = [e["text"] for e in examples[1::40]] + ["@united ok", "", "Check out my channel!!! http://youtube.com/xyz"]
    together = small_model.predict(texts)
    assert not any(r["embedded"] for r in together)
    assert [small_model.predict([text])[0] for text in texts] == together
    assert small_model.predict(texts[::-1])[::-1] == together


def test_the_fast_model_never_embeds(small_model, monkeypatch):
    from feedback.understanding import embeddings

    monkeypatch.setattr(embeddings, "encode", lambda *a, **k: pytest.fail("the fast model must not embed"))
    assert small_model.heads.n_embedding == 0 and small_model.fast_heads is None and small_model.gate is None
    [reading] = small_model.predict(["@united lost my bag"])
    assert reading["embedded"] is False and reading["version"].startswith("understanding-4-fast+")


# --- The cascade's gate (pure arithmetic on the fast heads: no embedding needed) -------------------


def test_gate_thresholds_follow_the_share(examples):
    from feedback.understanding.cascade import calibrate_gate
    from feedback.understanding.config import CONFIG
    from feedback.understanding.features import Featurizer

    featurizer = Featurizer(CONFIG).fit([e["text"] for e in examples])
    X, _ = featurizer.transform([e["text"] for e in examples])
    narrow = calibrate_gate(X, examples, 0.05, CONFIG, featurizer.n_dense)
    wide = calibrate_gate(X, examples, 0.4, CONFIG, featurizer.n_dense)
    assert set(narrow) == set(wide) == {"sentiment", "is_complaint"}
    assert all(0 < wide[k] < narrow[k] <= 1 for k in narrow), "a larger share lowers both thresholds"
    assert calibrate_gate(X, [e for e in examples if "is_spam" in e], 0.2, CONFIG, featurizer.n_dense) == {}, \
        "without sentiment or complaint labels there is nothing to gate on"



def test_gate_selects_when_either_label_is_in_doubt():
    from feedback.understanding.cascade import gate_select

    P = {"sentiment": np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.9, 0.05, 0.05]]),
         "is_complaint": np.array([0.95, 0.9, 0.55]), "is_spam": np.zeros(3)}
    assert list(gate_select({"sentiment": 0.5, "is_complaint": 0.5}, P)) == [False, True, True]
    assert list(gate_select({"sentiment": 0.5}, P)) == [False, True, False]
    assert not gate_select({}, P).any()
