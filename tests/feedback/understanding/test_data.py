import pytest

from feedback.understanding import collect_examples
from feedback.understanding.data import DATA_DIR, SHIPPED_FILES, DataError, read_csv, shipped_examples


def write(path, content):
    path.write_text(content, encoding="utf-8")
    return path


def test_read_csv_normalises_labels(tmp_path):
    path = write(tmp_path / "x.csv", "text,is_complaint,intent,promise,weight\n"
                                     "a,1,Complaint,on_time,2\nb,false,,,\n")
    assert read_csv(path) == [
        {"text": "a", "is_complaint": True, "intent": "complaint", "promise": "on_time", "weight": 2.0},
        {"text": "b", "is_complaint": False},
    ]


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("body,intent\nhello,other\n", "no 'text' column"),
    ("text,intent\nhello,shouting\n", "unknown value 'shouting'"),
    ("text,is_spam\nhello,maybe\n", "not a boolean"),
])
def test_read_csv_rejects_bad_input(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        write(path, content)
    with pytest.raises(DataError, match=message):
        read_csv(path)


def test_shipped_data_is_small_and_labelled():
    assert sum((DATA_DIR / name).stat().st_size for name in SHIPPED_FILES) < 3_000_000
    examples = shipped_examples(auxiliary=False)
    counts = {label: sum(label in e for e in examples) for label in ("sentiment", "promise", "is_complaint",
                                                                     "is_spam", "intent")}
    assert counts == {"sentiment": 8810, "promise": 4770, "is_complaint": 2053, "is_spam": 1149, "intent": 342}


def test_extra_examples_hook():
    examples = collect_examples([[{"text": "x", "sentiment": "positive"}]],
                                extra_examples=[{"text": "y", "intent": "idea", "weight": 3}])
    assert examples == [{"text": "x", "sentiment": "positive"}, {"text": "y", "intent": "idea", "weight": 3.0}]


def test_customer_posts_teach_the_spam_head_what_is_not_spam_whatever_the_files(tmp_path):
    """Trained on labelled files only (evaluate_understanding --train), the spam head still sees
    every fifth customer post as a light not-spam example, as the shipped model does."""
    write(tmp_path / "airline.csv", "text,sentiment\n" + "".join(f"@united post {i},negative\n" for i in range(30)))
    write(tmp_path / "spam.csv", "text,is_spam\nsubscribe to my channel,1\nnice song,0\n")
    examples = collect_examples([tmp_path / "airline.csv", tmp_path / "spam.csv"])
    auxiliary = [e for e in examples if e.get("auxiliary")]
    assert [e["text"] for e in auxiliary] == [f"@united post {i}" for i in (0, 5, 10, 15, 20, 25)]
    assert all(e["is_spam"] is False and e["weight"] == 0.1 for e in auxiliary)
    assert not [e for e in collect_examples([tmp_path / "airline.csv"]) if e.get("auxiliary")], (
        "no spam labels: no spam head, nothing to add"
    )
    shipped = shipped_examples()
    assert sum(bool(e.get("auxiliary")) for e in shipped) == -(-(8810 + 2053) // 5)
