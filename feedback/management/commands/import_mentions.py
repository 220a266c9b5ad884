"""python manage.py import_mentions PATH --format csv|jsonl|x-v2 --source NAME [options]

Streams a file of any size into mentions, in batches (each its own transaction), with a
progress bar on stderr. Rows it cannot take are written with their reason to a rejects CSV file
(PATH.rejects.csv unless --rejects). Running it again on the same file creates nothing new.

Mention fields: external_id, text, posted_at, author_handle (required); author_name,
author_followers, url (optional). A field is read from the column of its own name, else from a usual
alias (external_id from `id`, author_handle from `author`, posted_at from `created_at`, ...),
unless --map field=column names it. Dates: ISO 8601 (naive = UTC) or "Wed Oct 10 20:19:24 +0000 2018".

The shared data sets (see README, "Importing files"):

  python manage.py import_mentions ../shared/data/airline_mentions.csv --format csv --source x \\
      --map author_handle=author
  python manage.py import_mentions ../shared/data/spotify_requests.csv --format csv --source import \\
      --map author_handle=author
  python manage.py import_mentions ../shared/data/support_threads.csv --format csv --source import \\
      --map author_handle=author --where inbound=True

Exit status 2, before anything is written: missing file, unknown format or source, bad --map or
--where, a mapped column not in the header.
"""

import argparse
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter
from tqdm import tqdm

from feedback.choices import Source
from feedback.intake.imports import (
    DEFAULT_BATCH,
    FIELDS,
    FORMATS,
    ImportFailed,
    ImportSetupError,
    import_file,
    parse_column_map,
    parse_pairs,
)


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of the description (the example commands)."""


class Command(BaseCommand):
    help = __doc__.split("\n", 1)[1].strip()

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(prog_name, subcommand, formatter_class=_HelpFormatter, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("path", help="The file to import.")
        parser.add_argument("--format", dest="fmt", required=True, metavar="|".join(FORMATS),
                            help="csv (header row), jsonl (one JSON object per line) or x-v2 (X API v2 search or "
                                 "stream responses: one JSON document, or one response per line).")
        parser.add_argument("--source", required=True, metavar="|".join(Source.values),
                            help="The channel the mentions came from; external ids are unique per source.")
        parser.add_argument("--map", dest="maps", action="append", default=[], metavar="FIELD=COLUMN",
                            help=f"Read a mention field from a column (jsonl: a key, a.b reaches in). Fields: "
                                 f"{', '.join(FIELDS)}. Repeatable.")
        parser.add_argument("--where", dest="wheres", action="append", default=[], metavar="COLUMN=VALUE",
                            help="Import only rows whose column equals the value, e.g. --where inbound=True. "
                                 "Repeatable (all must match).")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                            help=f"Rows per transaction (default {DEFAULT_BATCH}).")
        parser.add_argument("--rejects", default=None, metavar="PATH",
                            help="Where to write rejected rows with their reason (default: PATH.rejects.csv).")
        parser.add_argument("--no-process", dest="process", action="store_false",
                            help="Store only: do not enqueue processing. (The periodic recovery task still "
                                 "processes mentions left unprocessed, if celery beat runs.)")
        parser.add_argument("--no-progress", dest="progress", action="store_false",
                            help="No progress bar on stderr.")

    def handle(self, *args, path, fmt, source, maps, wheres, batch, rejects, process, progress, **options):
        bar = None

        def on_start(columns, size):
            nonlocal bar
            if columns:
                self.stdout.write("Columns: " + ", ".join(f"{name} <- {column}" for name, column in columns.items()))
            if progress:
                # tqdm draws with carriage returns: give it the raw stream, not Django's line-ending wrapper.
                stream = getattr(self.stderr, "_out", sys.stderr)
                bar = tqdm(total=size, unit="B", unit_scale=True, desc=Path(path).name, file=stream,
                           mininterval=0.5)

        def on_progress(position):
            if bar is not None:
                bar.update(max(0, position - bar.n))

        try:
            stats = import_file(
                path=Path(path), fmt=fmt, source=source, column_map=parse_column_map(maps),
                where=parse_pairs(wheres, option="--where"), batch_size=batch,
                rejects_path=Path(rejects) if rejects else None, process=process,
                on_start=on_start, on_progress=on_progress,
            )
        except ImportSetupError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        except ImportFailed as exc:
            raise CommandError(str(exc), returncode=1) from exc
        finally:
            if bar is not None:
                bar.close()

        self.stdout.write(self.style.SUCCESS(
            f"{stats.rows:,} rows in {stats.seconds:.1f} s ({stats.rate:,.0f} rows/s): {stats.created:,} created, "
            f"{stats.duplicates:,} duplicates, {stats.errors:,} errors"
            + (f", {stats.skipped:,} left out by --where" if stats.skipped else "") + "."
        ))
        if stats.rejects_path:
            self.stdout.write(self.style.WARNING(f"Rejected rows and their reasons: {stats.rejects_path}"))
        if stats.created and process:
            self.stdout.write("New mentions are queued for processing; a worker processes them.")
