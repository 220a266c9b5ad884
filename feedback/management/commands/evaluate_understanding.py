"""python manage.py evaluate_understanding --data FILE.csv [--train FILE.csv ...]

Scores the understanding model on a labelled CSV: a `text` column and any of the label columns
sentiment, intent, is_complaint (1/0), promise, is_spam (1/0). With --train, a model is first
trained on those files only (not the shipped data); otherwise the default model is used.
Prints accuracy, macro-F1, per-class precision/recall and a confusion matrix per label column
present, and ends with one JSON line:
  {"n": ..., "sentiment": {"accuracy": ..., "macro_f1": ..., "n": ...}, "is_complaint": {...}, ...}
Promise is scored on the rows that have one, against the model's best guess.

Exit status 2: a missing or unreadable file, no text column, no label column, an unknown label value.
"""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from feedback.understanding import load_default, train
from feedback.understanding.data import DataError, read_csv
from feedback.understanding.evaluate import evaluate, format_report, summary


class Command(BaseCommand):
    help = "Score the understanding model on a labelled CSV file."

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, metavar="FILE", help="labelled CSV to score on")
        parser.add_argument("--train", nargs="+", action="extend", default=[], metavar="FILE",
                            help="train a model on these labelled CSV files first (`--train a.csv b.csv`, "
                                 "or the flag repeated)")

    def handle(self, *args, data, train: list, **options):
        try:
            examples = read_csv(data, require_labels=True)
            if not examples:
                raise DataError(f"{data}: no rows")
            if train:
                started = time.perf_counter()
                model = train_files(train)
                self.stderr.write(f"trained {model.version} on {', '.join(train)} "
                                  f"in {time.perf_counter() - started:.0f}s")
            else:
                model = load_default()
        except DataError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        started = time.perf_counter()
        report = evaluate(model, examples)
        elapsed = time.perf_counter() - started
        self.stdout.write(format_report(report))
        self.stdout.write(f"\n({len(examples)} rows scored in {elapsed:.1f}s)")
        self.stdout.write(json.dumps(summary(report)))


def train_files(paths):
    return train(paths, include_shipped=False, description="evaluate_understanding --train")
