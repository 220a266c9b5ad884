"""manage.py import_mentions and feedback.intake.imports: real files in tmp_path, a real database."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from itertools import islice
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from feedback.choices import MentionStatus
from feedback.intake.imports import import_file, parse_posted_at
from feedback.intake.models import Mention

pytestmark = pytest.mark.django_db

SHARED_DATA = Path(settings.BASE_DIR).parent / "shared" / "data"

EMOJI = "✈️🧳 Lost my bag again 😡 #SkyJet 👎🏽"
ARABIC = "شكراً لطاقم الرحلة على الخدمة الرائعة ✈️"
HEBREW = "הטיסה שלי התעכבה שלוש שעות, מה קורה? 🙏"


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _write_lines(path: Path, objects: list) -> Path:
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)) + "\n" for o in objects),
                    encoding="utf-8")
    return path


def _run(*args) -> str:
    out = io.StringIO()
    call_command("import_mentions", *map(str, args), "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _rejects(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


@pytest.fixture
def airline_csv(tmp_path):
    """Like the shared airline file: `id`, `author`, extra columns, a multi-line text, and bad rows."""
    return _write_csv(tmp_path / "airline.csv", ["id", "brand", "posted_at", "author", "text", "retweets"], [
        ["1001", "SkyJet", "2015-02-24T11:14:45-08:00", "dana", EMOJI, "0"],
        ["1002", "SkyJet", "2015-02-24 19:00:00", "سارة", ARABIC, "2"],
        ["1003", "SkyJet", "Wed Oct 10 20:19:24 +0000 2018", "noa", HEBREW, "0"],
        ["1004", "SkyJet", "last tuesday", "sam", "@SkyJet when is my refund coming", "0"],
        ["1005", "SkyJet", "2015-02-24T10:00:00Z", "lee", "@SkyJet line one\nline two, \"quoted\"", "1"],
        ["1006", "SkyJet", "2015-02-24T10:00:00Z", "kim", "", "0"],
        ["1007", "SkyJet", "2015-02-24T10:00:00Z", "", "@SkyJet no handle", "0"],
    ])


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_import_with_a_column_map(airline_csv):
    out = _run(airline_csv, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--no-process")

    stored = {m.external_id: m for m in Mention.objects.all()}
    assert set(stored) == {"1001", "1002", "1003", "1005"}
    assert {m.source for m in stored.values()} == {"x"}
    assert (stored["1001"].text, stored["1001"].author_handle) == (EMOJI, "dana")
    assert (stored["1002"].text, stored["1002"].author_handle) == (ARABIC, "سارة")
    assert stored["1003"].text == HEBREW
    assert stored["1005"].text == '@SkyJet line one\nline two, "quoted"'
    # The whole row is kept as it came, columns that are no mention field included.
    assert stored["1001"].raw == {"id": "1001", "brand": "SkyJet", "posted_at": "2015-02-24T11:14:45-08:00",
                                  "author": "dana", "text": EMOJI, "retweets": "0"}
    assert stored["1001"].status == MentionStatus.RECEIVED
    assert "7 rows" in out and "4 created, 0 duplicates, 3 errors" in out and "rows/s" in out
    assert "external_id <- id" in out and "author_handle <- author" in out


def test_dates_offset_naive_as_utc_and_the_twitter_format(airline_csv):
    _run(airline_csv, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--no-process")

    posted = dict(Mention.objects.values_list("external_id", "posted_at"))
    assert posted["1001"] == datetime(2015, 2, 24, 19, 14, 45, tzinfo=UTC)
    assert posted["1002"] == datetime(2015, 2, 24, 19, 0, tzinfo=UTC)  # naive: UTC
    assert posted["1003"] == datetime(2018, 10, 10, 20, 19, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-02-24T11:14:45-08:00", datetime(2015, 2, 24, 11, 14, 45, tzinfo=timezone(timedelta(hours=-8)))),
        ("2022-10-27T18:00:00.000Z", datetime(2022, 10, 27, 18, 0, tzinfo=UTC)),
        ("2017-10-31 22:10:47", datetime(2017, 10, 31, 22, 10, 47, tzinfo=UTC)),
        ("Wed Oct 10 20:19:24 +0000 2018", datetime(2018, 10, 10, 20, 19, 24, tzinfo=UTC)),
        ("Tue Feb 24 11:14:45 -0800 2015", datetime(2015, 2, 24, 19, 14, 45, tzinfo=UTC)),
    ],
)
def test_parse_posted_at(text, expected):
    assert parse_posted_at(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "24/02/2015 11:14", "Wed Oct 10 2018"])
def test_parse_posted_at_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError, match="ISO 8601|required"):
        parse_posted_at(text)


def test_rejected_rows_go_to_the_side_file_with_their_reason(airline_csv):
    _run(airline_csv, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--no-process")

    rejects = _rejects(Path(f"{airline_csv}.rejects.csv"))
    assert [row["id"] for row in rejects] == ["1004", "1006", "1007"]
    assert list(rejects[0]) == ["line", "reason", "id", "brand", "posted_at", "author", "text", "retweets"]
    # Line numbers are where the record starts in the file (row 1005 spans two lines).
    assert [row["line"] for row in rejects] == ["5", "8", "9"]
    assert rejects[0]["reason"].startswith("posted_at: 'last tuesday' is not a date")
    assert rejects[0]["text"] == "@SkyJet when is my refund coming"  # the row as it was, to fix and re-import
    assert rejects[1]["reason"] == "text: This field may not be blank."
    assert rejects[2]["reason"] == "author_handle: This field may not be blank."


def test_a_re_run_creates_nothing_new(airline_csv):
    args = (airline_csv, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--no-process")
    _run(*args)
    ids = set(Mention.objects.values_list("id", flat=True))

    out = _run(*args)

    assert set(Mention.objects.values_list("id", flat=True)) == ids
    assert "0 created, 4 duplicates, 3 errors" in out
    assert len(_rejects(Path(f"{airline_csv}.rejects.csv"))) == 3  # rewritten, not appended


def test_the_same_ids_under_another_source_are_other_mentions(airline_csv):
    _run(airline_csv, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--no-process")
    _run(airline_csv, "--format", "csv", "--source", "import", "--map", "author_handle=author", "--no-process")

    assert Mention.objects.filter(source="x").count() == Mention.objects.filter(source="import").count() == 4


def test_where_keeps_only_matching_rows(tmp_path):
    path = _write_csv(tmp_path / "threads.csv", ["id", "author", "inbound", "posted_at", "text", "in_reply_to"], [
        ["1", "sprintcare", "False", "2017-10-31T22:10:47+00:00", "@115712 I understand.", "3"],
        ["2", "115712", "True", "2017-10-31T22:11:45+00:00", "@sprintcare and how do you propose we do that", "1"],
        ["3", "115712", "True", "2017-10-31T22:08:27+00:00", f"@sprintcare {ARABIC}", "4"],
        ["4", "sprintcare", "False", "2017-10-31T21:54:49+00:00", "@115712 Please send us a Private Message", "5"],
    ])

    out = _run(path, "--format", "csv", "--source", "import", "--map", "author_handle=author",
               "--where", "inbound=True", "--no-process")

    assert sorted(Mention.objects.values_list("external_id", "author_handle")) == [("2", "115712"), ("3", "115712")]
    assert Mention.objects.get(external_id="2").raw["in_reply_to"] == "1"
    assert "4 rows" in out and "2 created" in out and "2 left out by --where" in out
    assert not Path(f"{path}.rejects.csv").exists()  # nothing rejected, no side file


def test_rows_with_the_wrong_number_of_fields_are_rejected(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(
        "external_id,text,posted_at,author_handle\n"
        "a,hello,2020-01-01T00:00:00Z,dana\n"
        "b,one,too,many,fields\n"
        "\n"
        "c,short\n"
        "d,fine,2020-01-01T00:00:00Z,lee\n",
        encoding="utf-8",
    )

    out = _run(path, "--format", "csv", "--source", "api", "--no-process")

    assert sorted(Mention.objects.values_list("external_id", flat=True)) == ["a", "d"]
    rejects = _rejects(Path(f"{path}.rejects.csv"))
    assert [(r["line"], r["reason"]) for r in rejects] == [
        ("3", "The row has 5 fields; the header has 4."), ("5", "The row has 2 fields; the header has 4."),
    ]
    assert "2 created, 0 duplicates, 2 errors" in out


def test_rejects_path_option_and_a_stale_side_file_is_rewritten(airline_csv, tmp_path):
    rejects = tmp_path / "out" / "bad.csv"
    rejects.parent.mkdir()
    _run(airline_csv, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--no-process",
         "--rejects", rejects)
    assert len(_rejects(rejects)) == 3
    assert not Path(f"{airline_csv}.rejects.csv").exists()

    good = _write_csv(tmp_path / "good.csv", ["id", "author", "posted_at", "text"],
                      [["9", "dana", "2020-01-01T00:00:00Z", "@SkyJet fine now"]])
    _run(good, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--no-process",
         "--rejects", rejects)
    assert _rejects(rejects) == []  # describes the last run: nothing rejected
    assert rejects.read_text(encoding="utf-8").splitlines() == ["line,reason,id,author,posted_at,text"]


def test_optional_fields_and_a_utf8_bom(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(
        "\ufeffexternal_id,text,posted_at,author_handle,author_name,author_followers,url\n"
        "1,@brand hi,2020-01-01T00:00:00Z,dana,Dana K,812,https://x.com/dana/status/1\n"
        "2,@brand hi,2020-01-01T00:00:00Z,lee,,,\n"
        "3,@brand hi,2020-01-01T00:00:00Z,kim,,lots,\n".encode()
    )

    _run(path, "--format", "csv", "--source", "review", "--no-process")

    one, two = Mention.objects.order_by("external_id")
    assert (one.author_name, one.author_followers, one.url) == ("Dana K", 812, "https://x.com/dana/status/1")
    assert (two.author_name, two.author_followers, two.url) == ("", None, "")
    assert _rejects(Path(f"{path}.rejects.csv"))[0]["reason"] == "author_followers: A valid integer is required."


def test_a_file_that_is_not_utf8_half_way_stops_with_what_was_stored(tmp_path):
    good = "".join(f"{n},user{n},2020-01-01T00:00:00Z,@brand a long enough message to fill the buffer {n}\n"
                   for n in range(400))
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"id,author,posted_at,text\n" + good.encode() + "9999,zoe,2020-01-01T00:00:00Z,caf\u00e9\n".encode("latin-1"))

    with pytest.raises(CommandError, match="not UTF-8 text near byte") as raised:
        _run(path, "--format", "csv", "--source", "x", "--no-process", "--batch", "100")

    assert raised.value.returncode == 1
    stored = Mention.objects.count()
    assert 0 < stored < 400 and f"{stored:,} mentions were stored before it" in str(raised.value)


def test_a_file_that_is_not_utf8_from_the_start_exits_2(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,author,posted_at,text\n1,zoe,2020-01-01T00:00:00Z,caf\u00e9\n".encode("latin-1"))

    with pytest.raises(CommandError, match="is not UTF-8 text") as raised:
        _run(path, "--format", "csv", "--source", "x", "--no-process")

    assert raised.value.returncode == 2
    assert not Mention.objects.exists()


# --- Batches, transactions, processing -----------------------------------------------------------


def _numbered_csv(tmp_path, count):
    return _write_csv(tmp_path / "numbered.csv", ["id", "author", "posted_at", "text"], [
        [str(n), f"user{n}", "2026-11-20T09:00:00Z", f"@SkyJet my bag did not arrive, flight {n}"]
        for n in range(count)
    ])


def test_each_batch_commits_and_enqueues_its_new_mentions(tmp_path, django_capture_on_commit_callbacks, task_queue):
    path = _numbered_csv(tmp_path, 5)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _run(path, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--batch", "2")
    assert len(callbacks) == 3  # batches of 2, 2 and 1: one enqueue each, after its commit
    assert set(Mention.objects.values_list("status", flat=True)) == {MentionStatus.RECEIVED}

    for callback in callbacks:
        callback()
    assert [name for name, _ in task_queue.run()] == ["feedback.tasks.process_mentions"] * 2 + [
        "feedback.tasks.process_mention"]
    assert set(Mention.objects.values_list("status", flat=True)) == {MentionStatus.PROCESSED}
    assert Mention.objects.filter(case__isnull=False).count() == 5  # complaints: each on a case

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _run(path, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--batch", "2")
    assert callbacks == []  # a re-run stores nothing and enqueues nothing


def test_no_process_stores_only(tmp_path, django_capture_on_commit_callbacks):
    path = _numbered_csv(tmp_path, 3)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _run(path, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--no-process")
    assert callbacks == []
    assert Mention.objects.filter(status=MentionStatus.RECEIVED).count() == 3


def test_a_row_the_database_would_refuse_is_rejected_and_its_batch_stored(tmp_path):
    # A NUL character in a column that is no mention field: PostgreSQL would refuse it in `raw`, so the field rules
    # (feedback.intake.validation, as for the API and the webhooks) refuse that row with its reason, before the
    # database sees the batch.
    path = _write_csv(tmp_path / "nul.csv", ["id", "author", "posted_at", "text", "note"], [
        ["1", "dana", "2020-01-01T00:00:00Z", "@brand one", ""],
        ["2", "lee", "2020-01-01T00:00:00Z", "@brand two", "bad\x00byte"],
        ["3", "kim", "2020-01-01T00:00:00Z", "@brand three", ""],
    ])
    out = _run(path, "--format", "csv", "--source", "x", "--map", "author_handle=author", "--no-process")

    assert sorted(Mention.objects.values_list("external_id", flat=True)) == ["1", "3"]
    [reject] = _rejects(Path(f"{path}.rejects.csv"))
    assert reject["id"] == "2"
    assert reject["reason"] == "raw: Null characters are not allowed (PostgreSQL cannot store U+0000 in JSON)."
    assert "2 created, 0 duplicates, 1 errors" in out


def test_the_progress_bar_goes_to_stderr(tmp_path):
    path = _numbered_csv(tmp_path, 3)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_mentions", str(path), "--format", "csv", "--source", "x", "--map", "author_handle=author",
                 "--no-process", stdout=out, stderr=err)
    assert "numbered.csv" in err.getvalue() and "100%" in err.getvalue()
    assert "100%" not in out.getvalue()


def test_the_service_reports_progress_in_bytes(tmp_path):
    path = _numbered_csv(tmp_path, 25)
    positions, starts = [], []

    stats = import_file(path=path, fmt="csv", source="x", column_map={"author_handle": "author"}, batch_size=10,
                        process=False, on_start=lambda columns, size: starts.append(size),
                        on_progress=positions.append)

    assert starts == [path.stat().st_size]
    assert positions == sorted(positions) and positions[-1] == path.stat().st_size and len(positions) >= 3
    assert (stats.rows, stats.created, stats.errors, stats.rejects_path) == (25, 25, 0, None)


# --- JSON lines ----------------------------------------------------------------------------------


def test_jsonl_with_nested_keys_classic_twitter_dates_and_bad_lines(tmp_path):
    path = _write_lines(tmp_path / "tweets.jsonl", [
        {"id_str": "111", "full_text": EMOJI, "created_at": "Wed Oct 10 20:19:24 +0000 2018",
         "user": {"screen_name": "dana", "name": "Dana K", "followers_count": 812}, "lang": "en"},
        {"id_str": "112", "full_text": HEBREW, "created_at": "Wed Oct 10 21:00:00 +0000 2018",
         "user": {"screen_name": "noa", "name": "נועה", "followers_count": 0}, "lang": "he"},
        '{"id_str": "113", "full_text": "cut off',
        '["not", "an", "object"]',
        {"id_str": "114", "full_text": "@brand where is it", "created_at": "Wed Oct 10 22:00:00 +0000 2018",
         "user": {"name": "No Handle"}},
    ])

    out = _run(path, "--format", "jsonl", "--source", "x", "--map", "author_handle=user.screen_name",
               "--map", "author_name=user.name", "--map", "author_followers=user.followers_count", "--no-process")

    stored = {m.external_id: m for m in Mention.objects.all()}
    assert set(stored) == {"111", "112"}
    assert (stored["111"].text, stored["111"].author_handle, stored["111"].author_name) == (EMOJI, "dana", "Dana K")
    assert stored["111"].author_followers == 812
    assert stored["111"].posted_at == datetime(2018, 10, 10, 20, 19, 24, tzinfo=UTC)
    assert (stored["112"].text, stored["112"].author_name, stored["112"].raw["lang"]) == (HEBREW, "נועה", "he")
    rejects = _rejects(Path(f"{path}.rejects.csv"))
    assert [r["line"] for r in rejects] == ["3", "4", "5"]
    assert rejects[0]["reason"].startswith("Not valid JSON")
    assert rejects[0]["record"] == '{"id_str": "113", "full_text": "cut off'
    assert rejects[1]["reason"] == "Expected a JSON object on the line."
    assert rejects[2]["reason"] == "author_handle: This field is required."
    assert json.loads(rejects[2]["record"])["id_str"] == "114"
    assert "2 created, 0 duplicates, 3 errors" in out


def test_jsonl_where_compares_json_booleans(tmp_path):
    base = {"posted_at": "2020-01-01T00:00:00Z", "author_handle": "dana"}
    path = _write_lines(tmp_path / "threads.jsonl", [
        {**base, "external_id": 1, "text": "@brand help", "inbound": True},
        {**base, "external_id": 2, "text": "@dana sure", "inbound": False},
        {**base, "external_id": 3, "text": "@brand no flag"},
    ])

    _run(path, "--format", "jsonl", "--source", "import", "--where", "inbound=True", "--no-process")

    assert list(Mention.objects.values_list("external_id", flat=True)) == ["1"]


# --- X API v2 ------------------------------------------------------------------------------------


def _x_user(user_id, username, name, followers):
    return {"id": user_id, "username": username, "name": name, "location": "Tel Aviv",
            "public_metrics": {"followers_count": followers, "following_count": 10, "tweet_count": 99}}


def _x_post(post_id, author_id, text, **extra):
    return {"id": post_id, "text": text, "author_id": author_id, "created_at": "2022-10-27T18:00:00.000Z",
            "conversation_id": post_id, "edit_history_tweet_ids": [post_id],
            "public_metrics": {"retweet_count": 1, "reply_count": 0, "like_count": 4, "quote_count": 0}, **extra}


def test_x_v2_search_response_as_one_document(tmp_path):
    response = {
        "data": [
            _x_post("1585000000000000001", "2244994945", f"@SkyJet {EMOJI}"),
            _x_post("1585000000000000002", "99", f"@SkyJet {ARABIC}", conversation_id="1585000000000000001",
                    referenced_tweets=[{"type": "replied_to", "id": "1585000000000000001"}]),
            _x_post("1585000000000000003", "2244994945", "@SkyJet short…",
                    note_tweet={"text": "@SkyJet the whole long post " + "x" * 300}),
            _x_post("1585000000000000004", "404", "@SkyJet author not expanded"),
        ],
        "includes": {"users": [_x_user("2244994945", "dana", "Dana K", 812), _x_user("99", "sara", "سارة", 5)]},
        "meta": {"result_count": 4, "newest_id": "1585000000000000004"},
    }
    path = tmp_path / "search.json"
    path.write_text(json.dumps(response, ensure_ascii=False, indent=2), encoding="utf-8")

    out = _run(path, "--format", "x-v2", "--source", "x", "--no-process")

    stored = {m.external_id: m for m in Mention.objects.all()}
    assert set(stored) == {"1585000000000000001", "1585000000000000002", "1585000000000000003"}
    first = stored["1585000000000000001"]
    assert (first.text, first.author_handle, first.author_name, first.author_followers) == (
        f"@SkyJet {EMOJI}", "dana", "Dana K", 812)
    assert first.url == "https://x.com/dana/status/1585000000000000001"
    assert first.posted_at == datetime(2022, 10, 27, 18, 0, tzinfo=UTC)
    reply = stored["1585000000000000002"]
    assert (reply.text, reply.author_name) == (f"@SkyJet {ARABIC}", "سارة")
    assert reply.raw["post"]["referenced_tweets"] == [{"type": "replied_to", "id": "1585000000000000001"}]
    assert reply.raw["author"]["location"] == "Tel Aviv"
    assert stored["1585000000000000003"].text.startswith("@SkyJet the whole long post xxx")
    [reject] = _rejects(Path(f"{path}.rejects.csv"))
    assert "'404'" in reject["reason"] and "expansions=author_id" in reject["reason"]
    assert json.loads(reject["record"])["id"] == "1585000000000000004"
    assert "4 rows" in out and "3 created" in out


def test_x_v2_stream_one_response_per_line(tmp_path):
    users = [_x_user("7", "noa", "נועה", 3)]
    path = _write_lines(tmp_path / "stream.jsonl", [
        {"data": _x_post("1", "7", f"@SkyJet {HEBREW}"), "includes": {"users": users},
         "matching_rules": [{"id": "1", "tag": "brand"}]},
        "",  # keep-alive
        {"data": _x_post("2", "7", "@SkyJet again"), "includes": {"users": users}},
        '{"data": {"id": "3"',
        {"data": {**_x_post("4", "7", "@SkyJet undated"), "created_at": None}, "includes": {"users": users}},
        {"meta": {"result_count": 0}},
    ])

    _run(path, "--format", "x-v2", "--source", "x", "--no-process")

    assert dict(Mention.objects.values_list("external_id", "text")) == {"1": f"@SkyJet {HEBREW}", "2": "@SkyJet again"}
    rejects = _rejects(Path(f"{path}.rejects.csv"))
    assert [r["line"] for r in rejects] == ["4", "5"]
    assert rejects[0]["reason"].startswith("Not valid JSON")
    assert rejects[1]["reason"].startswith("posted_at: A date is required")

    _run(path, "--format", "x-v2", "--source", "x", "--no-process")
    assert Mention.objects.count() == 2  # a re-run creates nothing new


def test_x_v2_several_pretty_printed_pages_in_one_file(tmp_path):
    pages = [
        {"data": [_x_post(str(n), "1", f"@SkyJet page {page} post {n}") for n in range(page * 3, page * 3 + 3)],
         "includes": {"users": [_x_user("1", "dana", "Dana", 1)]}}
        for page in range(3)
    ]
    path = tmp_path / "pages.json"
    path.write_text("\n".join(json.dumps(page, indent=2) for page in pages), encoding="utf-8")

    _run(path, "--format", "x-v2", "--source", "x", "--no-process")

    assert Mention.objects.count() == 9


# --- Exit status 2 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--format", "csv", "--source", "x"], "No such file"),
        (["{good}", "--format", "xlsx", "--source", "x"], "Unknown format 'xlsx'"),
        (["{good}", "--format", "csv", "--source", "myspace"], "Unknown source 'myspace'"),
        (["{good}", "--format", "csv", "--source", "x", "--map", "author_handle"], "expected NAME=VALUE"),
        (["{good}", "--format", "csv", "--source", "x", "--map", "=author"], "expected NAME=VALUE"),
        (["{good}", "--format", "csv", "--source", "x", "--map", "handle=author"], "unknown mention field(s) handle"),
        (["{good}", "--format", "csv", "--source", "x", "--map", "author_handle=writer"],
         "Not in the file's header: author_handle=writer"),
        (["{good}", "--format", "csv", "--source", "x", "--map", "author_handle=author", "--map",
          "author_handle=id"], "--map author_handle is given twice"),
        (["{good}", "--format", "csv", "--source", "x", "--map", "author_handle=author", "--where", "inbound=True"],
         "Not in the file's header: --where inbound"),
        (["{good}", "--format", "csv", "--source", "x", "--where", "inbound"], "expected NAME=VALUE"),
        (["{nohandle}", "--format", "csv", "--source", "x"], "No column for author_handle"),
        (["{good}", "--format", "x-v2", "--source", "x", "--map", "text=body"], "do not apply to x-v2"),
        (["{good}", "--format", "csv", "--source", "x", "--map", "author_handle=author", "--batch", "0"],
         "--batch must be between"),
        (["{good}", "--format", "csv", "--source", "x", "--map", "author_handle=author", "--rejects", "{good}"],
         "must not be the file being imported"),
        (["{empty}", "--format", "csv", "--source", "x"], "The file is empty"),
        (["{dir}", "--format", "csv", "--source", "x"], "Not a file"),
    ],
)
def test_setup_errors_exit_2_and_write_nothing(tmp_path, args, message):
    good = _write_csv(tmp_path / "good.csv", ["id", "author", "posted_at", "text"],
                      [["1", "dana", "2020-01-01T00:00:00Z", "@brand hi"]])
    nohandle = _write_csv(tmp_path / "nohandle.csv", ["id", "writer", "posted_at", "text"],
                          [["1", "dana", "2020-01-01T00:00:00Z", "@brand hi"]])
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    paths = {"{good}": str(good), "{nohandle}": str(nohandle), "{empty}": str(empty), "{dir}": str(tmp_path)}
    args = [paths.get(arg, str(tmp_path / arg) if arg == "missing.csv" else arg) for arg in args]

    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        _run(*args)

    assert raised.value.returncode == 2
    assert not Mention.objects.exists()
    assert not Path(f"{good}.rejects.csv").exists()


def test_the_process_exits_with_status_2_and_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "import_mentions", str(tmp_path / "nope.csv"), "--format", "csv",
         "--source", "x"],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120, env={**os.environ},
    )
    assert result.returncode == 2
    assert f"No such file: {tmp_path / 'nope.csv'}" in result.stderr


# --- The shared data sets ------------------------------------------------------------------------

SHARED_IMPORTS = {
    "airline_mentions.csv": ["--source", "x", "--map", "author_handle=author"],
    "spotify_requests.csv": ["--source", "import", "--map", "author_handle=author"],
    "support_threads.csv": ["--source", "import", "--map", "author_handle=author", "--where", "inbound=True"],
}


@pytest.mark.parametrize("name", list(SHARED_IMPORTS))
def test_the_first_300_rows_of_a_shared_data_file(tmp_path, name):
    source_file = SHARED_DATA / name
    if not source_file.exists():
        pytest.skip(f"{source_file} is absent: the shared data sets sit beside the checkout (../shared/data)")
    with open(source_file, encoding="utf-8", newline="") as file:
        header, *rows = islice(csv.reader(file), 301)
    path = _write_csv(tmp_path / name, header, rows)

    out = _run(path, "--format", "csv", *SHARED_IMPORTS[name], "--no-process")

    inbound = sum(1 for row in rows if row[header.index("inbound")] == "True") if "inbound" in header else len(rows)
    assert Mention.objects.count() == inbound > 0
    assert "300 rows" in out and f"{inbound} created, 0 duplicates, 0 errors" in out
    first = dict(zip(header, rows[0], strict=True))
    if name == "airline_mentions.csv":
        mention = Mention.objects.get(external_id=first["id"])
        assert (mention.source, mention.author_handle, mention.text) == ("x", first["author"], first["text"])
        assert mention.posted_at == datetime.fromisoformat(first["posted_at"])
        assert mention.raw["sentiment"] == first["sentiment"]
    assert not Path(f"{path}.rejects.csv").exists()
