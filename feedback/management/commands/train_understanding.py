"""python manage.py train_understanding [--data FILE ...] [--out PATH] [--folds N] [--no-cv] [--no-shipped]

Retrains the understanding model (feedback/understanding/) on the shipped training data plus any
labelled CSV given with --data and the labels people corrected in the portal (a `text` column and any of sentiment, intent, is_complaint,
promise, is_spam; an optional `weight`), prints 5-fold cross-validated scores per label, and
saves the model (default var/models/<version>.joblib). To serve it, point
BATON_UNDERSTANDING_MODEL at the saved file.

Exit status 2: a missing or unreadable file, no text column, an unknown label value.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from feedback.understanding.data import DataError
from feedback.understanding.labels import correction_examples
from feedback.understanding.retraining import retrain

# A person's correction outweighs one row of the shipped data.
CORRECTION_WEIGHT = 2.0


class Command(BaseCommand):
    help = "Retrain the understanding model on the shipped data plus labelled CSV files; print CV scores."

    def add_arguments(self, parser):
        parser.add_argument("--data", nargs="+", action="extend", default=[], metavar="FILE",
                            help="labelled CSV files to train on as well (`--data a.csv b.csv`, or the flag repeated)")
        parser.add_argument("--out", metavar="PATH", help="where to save the model (default var/models/<version>.joblib)")
        parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
        parser.add_argument("--no-cv", action="store_true", help="skip cross-validation")
        parser.add_argument("--no-shipped", action="store_true", help="train on the --data files only")
        parser.add_argument("--no-corrections", action="store_true",
                            help="leave out the labels people corrected in the portal")

    def handle(self, *args, data, out, folds, no_cv, no_shipped, no_corrections, **options):
        if no_shipped and not data:
            raise CommandError("--no-shipped needs at least one --data file", returncode=2)
        if folds < 2:
            raise CommandError("--folds must be at least 2", returncode=2)
        try:
            corrections = [] if no_corrections else [
                {**example, "weight": CORRECTION_WEIGHT} for example in correction_examples()
            ]
        except DatabaseError as exc:
            raise CommandError(f"cannot read the portal's label corrections ({exc}): run `python manage.py migrate` "
                               "first, or pass --no-corrections", returncode=2) from exc
        self.stdout.write(f"{len(corrections)} label correction(s) from the portal, each counted {CORRECTION_WEIGHT:g}x")
        try:
            model, path, scores = retrain(data, extra_examples=corrections or None, include_shipped=not no_shipped, out=out,
                                          folds=folds, cv=not no_cv, log=self.stdout.write)
        except DataError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(json.dumps({"version": model.version, "path": str(path), "cv": scores}))
