"""BENCHMARKS.md: one table, a row per bench, written from the benches' own JSON line by
`python manage.py bench NAME [options] --record` (the row of that bench is replaced)."""

import json
import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

BENCHMARKS_FILE = Path(settings.BASE_DIR) / "BENCHMARKS.md"

HEADER = """# Benchmarks

Every figure of Baton's benchmarks lives in this one table; other documents point here. Each row
is written by the bench itself, from the JSON line it ends with, together with the machine it ran
on and the commit it measured:

    python manage.py bench NAME [options] --record

replaces the row of NAME (`--record PATH` writes another file). Do not edit the rows by hand: run
the bench again. Each bench seeds its own data and cleans it up; `bench ingest` and `bench
pipeline` vacuum the tables they write before they time anything, so repeated runs measure the
same thing. The figures depend on the machine and on what else runs on it: "Load" is the
one-minute load average when the bench started and when it ended (above the core count, other
processes were waiting for the cores and the figures are low). Compare rows taken on the same CPU
at a similar load, and run a bench twice before trusting a change of less than 10-20%. What each
figure means: the bench's docstring in `feedback/bench/`. Notes below the table (comparisons, with the
load they ran at) are written by hand and kept by the recorder.
"""

COLUMNS = ("Bench", "Command", "Figures (the bench's JSON line)", "CPU", "Cores", "Load (start, end)", "Date (UTC)",
           "Commit")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else what the platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def load_average() -> float | None:
    """The machine's load average over the last minute (None where the platform has none): on a
    shared machine, how many others wanted the cores while the bench ran."""
    try:
        return round(os.getloadavg()[0], 1)
    except (AttributeError, OSError):
        return None


def git_commit() -> str:
    """The checked-out commit (short), marked when tracked files have uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short=10", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit} (with uncommitted changes)" if changed else commit


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row(*, name: str, command: str, figures: dict, load_at_start: float | None = None,
        now: datetime | None = None) -> list[str]:
    """The table's cells for one run of bench `name` (`load_at_start`: `load_average()` then)."""
    now = now or datetime.now(UTC)
    loads = [load_at_start, load_average()]
    return [
        f"`{name}`",
        f"`{_escape(command)}`",
        f"`{_escape(json.dumps(figures, ensure_ascii=False))}`",
        _escape(cpu_model()),
        str(os.cpu_count()),
        ", ".join("?" if load is None else f"{load:.1f}" for load in loads),
        now.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        _escape(git_commit()),
    ]


def read_rows(text: str) -> dict[str, list[str]]:
    """The table's rows by bench name, their cells as written."""
    rows = {}
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("|")]
    for line in lines[2:]:  # after the column names and the separator
        cells = [cell.strip() for cell in _CELL_SPLIT.split(line.strip().strip("|"))]
        if cells and cells[0]:
            rows[cells[0].strip("`")] = cells
    return rows


def notes_of(text: str) -> str:
    """What follows the table (notes written by hand about a comparison: the recorder keeps them)."""
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip().startswith("|")), default=None)
    if last is None:
        return ""
    return "\n".join(lines[last + 1:]).strip("\n")


def render(rows: dict[str, list[str]], notes: str = "") -> str:
    lines = [HEADER, "| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] * len(COLUMNS)) + "|"]
    lines += ["| " + " | ".join(rows[name]) + " |" for name in sorted(rows)]
    if notes:
        lines += ["", notes]
    return "\n".join(lines) + "\n"


def record(*, name: str, command: str, figures: dict, load_at_start: float | None = None,
           path: Path | None = None) -> Path:
    """Write bench `name`'s figures into the table at `path` (BENCHMARKS.md), replacing its row."""
    path = Path(path or BENCHMARKS_FILE)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    rows = read_rows(text)
    rows[name] = row(name=name, command=command, figures=figures, load_at_start=load_at_start)
    path.write_text(render(rows, notes_of(text)), encoding="utf-8")
    return path
