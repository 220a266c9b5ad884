"""Importing mentions from files: CSV, JSON lines, and X API v2 responses, of any size.

A reader streams the file (never the whole file in memory: the csv module on the open file,
JSON lines one at a time) and yields `(line_number, item_or_error)`: an item is a mention dict for
the field rules of `feedback.intake.validation` (the original row kept in `raw`), an error a
`RowError` with its reason. `import_file` sends the items in batches to `ingest_mentions` (validation, then ONE
`store_mentions` call per batch, each batch in its own transaction), writes every refused row
with its reason to a rejects CSV file, and counts what happened.

Re-running an import on the same file creates nothing new: mentions are unique per
(source, external_id), so rows already stored come back as duplicates.

Everything that can be checked before writing (the file exists, the format, the column map,
the mapped columns are in the header) raises `ImportSetupError` before the first write.
"""

import csv
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from django.db import transaction

from feedback.intake import validation
from feedback.intake.batch import CREATED, DUPLICATE, ingest_mentions
from feedback.intake.validation import parse_posted_at

# The mention fields a file can fill (the source is the import's, `raw` the row itself), and the
# ones a row cannot do without.
FIELDS = tuple(name for name in validation.FIELDS if name not in ("source", "raw"))
REQUIRED = tuple(name for name in validation.REQUIRED if name in FIELDS)
# Without --map, a field is read from the column of its own name, else from the first of these present.
ALIASES = {
    "external_id": ("id", "id_str", "tweet_id"),
    "text": ("full_text", "body"),
    "posted_at": ("created_at",),
    "author_handle": ("author", "screen_name", "username"),
    "author_name": ("name",),
    "author_followers": ("followers_count", "followers"),
    "url": ("permalink",),
}
FORMATS = ("csv", "jsonl", "x-v2")
DEFAULT_BATCH = 1000
MAX_BATCH = 10_000
# A JSON document spread over lines is held whole while it is parsed: an X API page is well under
# 1 MB; beyond this the file should hold one response per line.
MAX_DOCUMENT_CHARS = 64 * 1024 * 1024


class ImportSetupError(Exception):
    """The file or the options cannot be used; nothing was written."""


class ImportFailed(Exception):
    """The import stopped half-way (the batches before the failure are stored)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that could not be turned into a mention: why, and the row as the rejects file shows it."""

    reason: str
    record: list[str]


@dataclass
class ImportStats:
    rows: int = 0  # data rows (CSV, JSON lines) or posts (x-v2) read: created + duplicates + errors + skipped
    created: int = 0
    duplicates: int = 0
    errors: int = 0
    skipped: int = 0  # rows left out by --where
    seconds: float = 0.0
    rejects_path: Path | None = None  # set when rejected rows were written

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


# --- Options -------------------------------------------------------------------------------------


def parse_pairs(pairs: list[str] | None, *, option: str) -> dict[str, str]:
    """["a=b", ...] -> {"a": "b"}; the name of the option is in the messages."""
    parsed: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ImportSetupError(f"{option} {pair!r}: expected NAME=VALUE, for example {option} author_handle=author.")
        if name in parsed:
            raise ImportSetupError(f"{option} {name} is given twice.")
        parsed[name] = value
    return parsed


def parse_column_map(pairs: list[str] | None) -> dict[str, str]:
    """--map field=column ... -> {field: column}, every field a mention field."""
    column_map = parse_pairs(pairs, option="--map")
    unknown = sorted(set(column_map) - set(FIELDS))
    if unknown:
        raise ImportSetupError(f"--map: unknown mention field(s) {', '.join(unknown)}; the fields are {', '.join(FIELDS)}.")
    return column_map


def _with_date(item: dict, record: list[str]) -> dict | RowError:
    if "posted_at" in item:
        try:
            item["posted_at"] = parse_posted_at(item["posted_at"])
        except ValueError as exc:
            return RowError(f"posted_at: {exc}", record)
    return item


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# --- Readers -------------------------------------------------------------------------------------


class CsvReader:
    """A CSV file with a header row; `column_map` maps mention fields to its columns."""

    def __init__(self, stream: TextIO, *, source: str, column_map: dict[str, str], where: dict[str, str]):
        self._reader = csv.reader(stream)
        try:
            self.header = [name.strip() for name in next(self._reader)]
        except StopIteration:
            raise ImportSetupError("The file is empty: a CSV file needs a header row.") from None
        except csv.Error as exc:
            raise ImportSetupError(f"The header row is not valid CSV: {exc}.") from None
        position = {}
        for index, name in enumerate(self.header):
            position.setdefault(name, index)
        missing = [f"{name}={column}" for name, column in column_map.items() if column not in position]
        missing += [f"--where {name}" for name in where if name not in position]
        if missing:
            raise ImportSetupError(
                f"Not in the file's header: {', '.join(missing)}. The columns are: {', '.join(self.header)}."
            )
        self.columns: dict[str, str] = {}
        for name in FIELDS:
            if name in column_map:
                self.columns[name] = column_map[name]
            else:
                found = next((column for column in (name, *ALIASES[name]) if column in position), None)
                if found is not None:
                    self.columns[name] = found
        unmapped = [name for name in REQUIRED if name not in self.columns]
        if unmapped:
            raise ImportSetupError(
                f"No column for {', '.join(unmapped)}: name one with --map FIELD=COLUMN "
                f"(the columns are: {', '.join(self.header)})."
            )
        self._source = source
        self._indexes = [(name, position[column]) for name, column in self.columns.items()]
        self._where = [(position[name], value) for name, value in where.items()]
        self.reject_header = ["line", "reason", *self.header]

    def __iter__(self) -> Iterator[tuple[int, dict | RowError | None]]:
        """(line, item), (line, RowError), or (line, None) for a row --where leaves out."""
        width = len(self.header)
        line = self._reader.line_num + 1  # where the next record starts (records may span lines)
        while True:
            try:
                row = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, RowError(f"Not valid CSV: {exc}.", [])
                line = self._reader.line_num + 1
                continue
            start, line = line, self._reader.line_num + 1
            if not row:
                continue  # a blank line
            if len(row) != width:
                yield start, RowError(f"The row has {len(row)} fields; the header has {width}.", row)
                continue
            if any(row[index] != value for index, value in self._where):
                yield start, None
                continue
            item: dict[str, Any] = {"source": self._source, "raw": dict(zip(self.header, row, strict=True))}
            for name, index in self._indexes:
                value = row[index]
                if value != "" or name in REQUIRED:
                    item[name] = value
            yield start, _with_date(item, row)

    def reject_record(self, item: dict) -> list[str]:
        raw = item.get("raw") or {}
        return [raw.get(column, "") for column in self.header]


def _path_get(obj: Any, path: str) -> tuple[bool, Any]:
    """obj["a"]["b"] for "a.b"; (found, value)."""
    if isinstance(obj, dict) and path in obj:
        return True, obj[path]
    value = obj
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _matches(value: Any, wanted: str) -> bool:
    if isinstance(value, bool | int | float) or value is None:
        return wanted in (str(value), json.dumps(value))
    return str(value) == wanted


class JsonLinesReader:
    """One JSON object per line; `column_map` maps mention fields to keys ("user.screen_name" reaches in)."""

    reject_header = ["line", "reason", "record"]

    def __init__(self, stream: TextIO, *, source: str, column_map: dict[str, str], where: dict[str, str]):
        self._stream = stream
        self._source = source
        self._paths = {name: (column_map[name],) if name in column_map else (name, *ALIASES[name]) for name in FIELDS}
        self._where = where
        self.columns = {name: " | ".join(paths) for name, paths in self._paths.items()}

    def __iter__(self) -> Iterator[tuple[int, dict | RowError | None]]:
        for line_number, line in enumerate(self._stream, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_number, RowError(f"Not valid JSON: {exc}.", [line.rstrip("\r\n")])
                continue
            if not isinstance(obj, dict):
                yield line_number, RowError("Expected a JSON object on the line.", [line.rstrip("\r\n")])
                continue
            if not self._kept(obj):
                yield line_number, None
                continue
            item: dict[str, Any] = {"source": self._source, "raw": obj}
            for name, paths in self._paths.items():
                for path in paths:
                    found, value = _path_get(obj, path)
                    if found and (value not in ("", None) or name in REQUIRED):
                        item[name] = value
                        break
            yield line_number, _with_date(item, [line.rstrip("\r\n")])

    def _kept(self, obj: dict) -> bool:
        for name, wanted in self._where.items():
            found, value = _path_get(obj, name)
            if not found or not _matches(value, wanted):
                return False
        return True

    def reject_record(self, item: dict) -> list[str]:
        return [_json_text(item.get("raw"))]


def _json_documents(stream: TextIO) -> Iterator[tuple[int, Any]]:
    """JSON values from a file holding one per line (a stream), or one (or several) spread over
    lines (a saved response). Yields (line where it starts, value or RowError)."""
    line_number = 0
    for line in stream:
        line_number += 1
        if line.strip():
            break
    else:
        return
    try:
        yield line_number, json.loads(line)
    except json.JSONDecodeError:
        yield from _spread_documents(line, stream, first_line=line_number)
        return
    for line in stream:  # one response object per line, as a stream delivers them
        line_number += 1
        if not line.strip():
            continue  # keep-alive
        try:
            yield line_number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_number, RowError(f"Not valid JSON: {exc}.", [line.rstrip("\r\n")])


def _spread_documents(start: str, stream: TextIO, *, first_line: int) -> Iterator[tuple[int, Any]]:
    """JSON documents spread over lines. Only one document is held at a time; the buffer grows
    geometrically until it holds a whole document, so parsing stays linear in the file size."""
    decoder = json.JSONDecoder()
    buffer, position, line_number, at_end = start, 0, first_line, False
    while True:
        while position < len(buffer) and buffer[position] in " \t\r\n":
            line_number += buffer[position] == "\n"
            position += 1
        if position == len(buffer):
            if at_end:
                return
            buffer, position = stream.read(1 << 16), 0
            at_end = not buffer
            continue
        try:
            value, end = decoder.raw_decode(buffer, position)
        except json.JSONDecodeError as exc:
            if at_end:
                yield line_number, RowError(f"Not valid JSON (the rest of the file is skipped): {exc}.", [])
                return
            if len(buffer) - position > MAX_DOCUMENT_CHARS:
                yield line_number, RowError(
                    f"A JSON document over {MAX_DOCUMENT_CHARS >> 20} MB (the rest of the file is skipped): "
                    "save one response per line instead.", [])
                return
            more = stream.read(max(1 << 16, len(buffer) - position))
            buffer, position, at_end = buffer[position:] + more, 0, not more
            continue
        yield line_number, value
        line_number += buffer.count("\n", position, end)
        position = end


class XV2Reader:
    """X API v2 search or stream responses: {"data": [posts] or post, "includes": {"users": [...]}}.

    A post becomes a mention: id, text (the full `note_tweet` text of a long post), created_at,
    and its author from includes.users (username, name, public_metrics.followers_count); the
    post and its author are kept in `raw` (conversation_id, referenced_tweets, public_metrics).
    """

    reject_header = ["line", "reason", "record"]
    columns = {
        "external_id": "data.id", "text": "data.text", "posted_at": "data.created_at",
        "author_handle": "includes.users.username", "author_name": "includes.users.name",
        "author_followers": "includes.users.public_metrics.followers_count", "url": "https://x.com/USER/status/ID",
    }

    def __init__(self, stream: TextIO, *, source: str, column_map: dict[str, str], where: dict[str, str]):
        if column_map or where:
            raise ImportSetupError("--map and --where do not apply to x-v2: its fields are fixed by the X API.")
        self._stream = stream
        self._source = source

    def __iter__(self) -> Iterator[tuple[int, dict | RowError | None]]:
        for line_number, response in _json_documents(self._stream):
            if isinstance(response, RowError):
                yield line_number, response
                continue
            if not isinstance(response, dict):
                yield line_number, RowError("Expected an X API v2 response object.", [_json_text(response)])
                continue
            posts = response.get("data")
            if posts is None:
                continue  # an empty page ({"meta": {"result_count": 0}}) or errors only
            includes = response.get("includes") if isinstance(response.get("includes"), dict) else {}
            users = {user.get("id"): user for user in includes.get("users") or [] if isinstance(user, dict)}
            for post in posts if isinstance(posts, list) else [posts]:
                yield line_number, self._item(post, users)

    def _item(self, post: Any, users: dict) -> dict | RowError:
        record = [_json_text(post)]
        if not isinstance(post, dict) or not post.get("id"):
            return RowError("external_id: a post needs an id.", record)
        user = users.get(post.get("author_id"))
        if user is None:
            return RowError(
                f"author_handle: the author {post.get('author_id')!r} of post {post['id']} is not in includes.users "
                "(request expansions=author_id).", record)
        if "created_at" not in post:
            return RowError(f"posted_at: post {post['id']} has no created_at (request tweet.fields=created_at).", record)
        note = post.get("note_tweet")
        text = note.get("text") if isinstance(note, dict) and note.get("text") else post.get("text")
        metrics = user.get("public_metrics") if isinstance(user.get("public_metrics"), dict) else {}
        item = {
            "source": self._source,
            "external_id": str(post["id"]),
            "text": text,
            "posted_at": post["created_at"],
            "author_handle": user.get("username"),
            "author_name": user.get("name") or "",
            "author_followers": metrics.get("followers_count"),
            "url": f"https://x.com/{user.get('username')}/status/{post['id']}" if user.get("username") else "",
            "raw": {"post": post, "author": user},
        }
        return _with_date(item, record)

    def reject_record(self, item: dict) -> list[str]:
        return [_json_text((item.get("raw") or {}).get("post"))]


READERS = {"csv": CsvReader, "jsonl": JsonLinesReader, "x-v2": XV2Reader}


# --- Import --------------------------------------------------------------------------------------


class _Rejects:
    """The rejects CSV file, opened at the first rejected row (and rewritten, header only, when an
    earlier run left one and this run rejects nothing, so it always describes the last run)."""

    def __init__(self, path: Path, header: list[str]):
        self.path, self.header, self.count = path, header, 0
        self._file = self._writer = None

    def add(self, line: int, reason: str, record: list[str]) -> None:
        if self._writer is None:
            self._file = open(self.path, "w", encoding="utf-8", newline="")  # closed in close()
            self._writer = csv.writer(self._file)
            self._writer.writerow(self.header)
        self._writer.writerow([line, reason, *record])
        self.count += 1

    def close(self) -> None:
        if self._file is None and self.path.exists():
            with open(self.path, "w", encoding="utf-8", newline="") as stale:
                csv.writer(stale).writerow(self.header)
        if self._file is not None:
            self._file.close()


def _reason(fields: dict) -> str:
    return "; ".join(f"{name}: {' '.join(map(str, messages))}" for name, messages in fields.items())


@dataclass
class _Batch:
    lines: list[int] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)


def open_import(*, path: Path, fmt: str, source: str, column_map: dict[str, str] | None = None,
                where: dict[str, str] | None = None) -> tuple[io.BufferedReader, io.TextIOWrapper, Any]:
    """Check everything that can be checked before writing; returns (binary file, text file,
    reader), the caller closes the text file. Raises ImportSetupError."""
    path = Path(path)
    if fmt not in READERS:
        raise ImportSetupError(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}.")
    if source not in validation.SOURCES:
        raise ImportSetupError(f"Unknown source {source!r}: use one of {', '.join(validation.SOURCES)}.")
    if not path.is_file():
        raise ImportSetupError(f"No such file: {path}." if not path.exists() else f"Not a file: {path}.")
    binary = open(path, "rb")  # closed through `text` by the caller
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="" if fmt == "csv" else None)
    try:
        reader = READERS[fmt](text, source=source, column_map=column_map or {}, where=where or {})
    except UnicodeDecodeError:
        text.close()
        raise ImportSetupError(f"{path} is not UTF-8 text.") from None
    except BaseException:
        text.close()
        raise
    return binary, text, reader


def import_file(
    *,
    path: Path,
    fmt: str,
    source: str,
    column_map: dict[str, str] | None = None,
    where: dict[str, str] | None = None,
    batch_size: int = DEFAULT_BATCH,
    rejects_path: Path | None = None,
    process: bool = True,
    on_start: Callable[[dict[str, str], int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportStats:
    """Import a file of mentions; returns the counts. Each batch is stored in its own transaction,
    and its new mentions are enqueued for processing after it commits (unless `process` is False).

    `on_start(columns, file_size)` is called once the header is read, `on_progress(bytes_read)`
    after each batch. Raises ImportSetupError before writing anything if the file or options
    cannot be used; a file that turns out not to be UTF-8 half-way raises ImportFailed, after
    the batches before it were stored (a re-run after the fix skips them).
    """
    path = Path(path)
    if not 1 <= batch_size <= MAX_BATCH:
        raise ImportSetupError(f"--batch must be between 1 and {MAX_BATCH:,}.")
    rejects_path = Path(rejects_path) if rejects_path else path.with_name(path.name + ".rejects.csv")
    if rejects_path.resolve() == path.resolve():
        raise ImportSetupError("--rejects must not be the file being imported.")
    if not rejects_path.parent.is_dir():
        raise ImportSetupError(f"--rejects: no such directory: {rejects_path.parent}.")
    binary, text, reader = open_import(path=path, fmt=fmt, source=source, column_map=column_map, where=where)
    if on_start:
        on_start(getattr(reader, "columns", {}), os.fstat(binary.fileno()).st_size)
    stats = ImportStats()
    rejects = _Rejects(rejects_path, reader.reject_header)
    started = time.perf_counter()
    batch = _Batch()

    def flush():
        if not batch.items:
            return
        with transaction.atomic():
            outcome = ingest_mentions(items=batch.items, enqueue=process)
        for result, line, item in zip(outcome.results, batch.lines, batch.items, strict=True):
            if result.outcome == CREATED:
                stats.created += 1
            elif result.outcome == DUPLICATE:
                stats.duplicates += 1
            else:
                stats.errors += 1
                rejects.add(line, _reason(result.fields or {}), reader.reject_record(item))
        batch.lines.clear()
        batch.items.clear()
        if on_progress:
            on_progress(binary.tell())

    try:
        for line, item in reader:
            stats.rows += 1
            if item is None:
                stats.skipped += 1
                continue
            if isinstance(item, RowError):
                stats.errors += 1
                rejects.add(line, item.reason, item.record)
                continue
            batch.lines.append(line)
            batch.items.append(item)
            if len(batch.items) >= batch_size:
                flush()
        flush()
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            f"{path} is not UTF-8 text near byte {binary.tell():,} ({exc.reason}); {stats.created:,} mentions were "
            "stored before it. Fix the file and run the import again: stored rows are skipped."
        ) from None
    finally:
        rejects.close()
        text.close()
        stats.seconds = time.perf_counter() - started
    if on_progress:
        on_progress(os.path.getsize(path))
    stats.rejects_path = rejects_path if rejects.count else None
    return stats
