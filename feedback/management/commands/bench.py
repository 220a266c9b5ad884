"""python manage.py bench NAME [options] [--record [PATH]]: seeds its own data, prints what it
measured, and ends with one JSON line of figures; `--record` also writes them into BENCHMARKS.md."""

import inspect
import json

from django.core.management.base import BaseCommand, CommandError

from feedback.bench import api, dashboard, ingest, matching, pipeline, portal, routing, sla, understand
from feedback.bench.record import load_average
from feedback.bench.record import record as record_figures

BENCHES = {
    "api": api,
    "pipeline": pipeline,
    "ingest": ingest,
    "routing": routing,
    "sla": sla,
    "understand": understand,
    "matching": matching,
    "portal": portal,
    "dashboard": dashboard,
}


class Command(BaseCommand):
    help = "Run a benchmark: " + ", ".join(BENCHES)

    def add_arguments(self, parser):
        self.bench_parsers = {}
        subparsers = parser.add_subparsers(dest="name", required=True, title="benchmarks")
        for name, module in BENCHES.items():
            sub = subparsers.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
            module.add_arguments(sub)
            sub.add_argument(
                "--record", nargs="?", const="", default=None, metavar="PATH",
                help="Also write the figures, with the CPU, core count, load, date and commit, into BENCHMARKS.md "
                     "(or PATH), replacing this bench's row.",
            )
            self.bench_parsers[name] = sub

    def handle(self, *args, name, record: str | None = None, **options):
        module = BENCHES[name]
        known = set(inspect.signature(module.run).parameters)
        arguments = {key: value for key, value in options.items() if key in known}
        load_at_start = load_average()
        try:
            result = module.run(**arguments, out=self.stdout.write)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if record is not None:
            path = record_figures(name=name, command=self._command(name, arguments), figures=result,
                                  load_at_start=load_at_start, path=record or None)
            self.stderr.write(f"recorded in {path}", self.style.SUCCESS)
        self.stdout.write(json.dumps(result))  # the last line, always

    def _command(self, name: str, arguments: dict) -> str:
        """The command line that repeats this run: the options that differ from their defaults."""
        words = ["bench", name]
        for action in self.bench_parsers[name]._actions:
            if not action.option_strings or action.dest not in arguments:
                continue
            value = arguments[action.dest]
            if value == action.default:
                continue
            option = max(action.option_strings, key=len)
            words += [option] if value is True else [option, str(value)]
        return " ".join(words)
