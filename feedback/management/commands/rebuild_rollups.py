"""python manage.py rebuild_rollups [--suggest]: recompute the board's rollups of every day from the raw
mentions, cases, handoffs, feedback notes and escalations (a progress bar on stderr), e.g. after an import
with the upkeep off (`BATON_ROLLUPS_LIVE=false`); with it on, every change marks its days
(feedback.board.upkeep). `--suggest` also clusters the recent complaints
into suggested problems."""

import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from feedback.board import rollups, suggestions


class Command(BaseCommand):
    help = "Recompute the board dashboard's rollups from the raw data (every day)."

    def add_arguments(self, parser):
        parser.add_argument("--suggest", action="store_true", help="Also recompute the suggested problems.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, suggest=False, no_progress=False, **options):
        started = time.perf_counter()
        bar = None

        def progress(done, total, day):
            nonlocal bar
            if no_progress:
                return
            if bar is None:
                bar = tqdm(total=total, unit="day", desc="rollups", file=self.stderr._out)
            bar.update(1)
            bar.set_postfix_str(day.isoformat(), refresh=False)

        result = rollups.rebuild(progress=progress)
        if bar is not None:
            bar.close()
        seconds = time.perf_counter() - started
        self.stdout.write(f"Rebuilt {result['rows']} rollup rows for {result['days']} days"
                          + (f" ({result['first']} to {result['last']})" if result["days"] else "")
                          + f" in {seconds:.1f} s.")
        if suggest:
            found = suggestions.refresh_suggestions()
            self.stdout.write(f"{len(found)} suggested problems.")
