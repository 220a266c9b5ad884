"""python manage.py bench NAME [options]: seeds its own data, prints what it measured,
and ends with one JSON line of figures."""

import inspect
import json

from django.core.management.base import BaseCommand, CommandError

from feedback.bench import ingest, pipeline, routing, sla, understand

BENCHES = {
    "pipeline": pipeline,
    "ingest": ingest,
    "routing": routing,
    "sla": sla,
    "understand": understand,
}


class Command(BaseCommand):
    help = "Run a benchmark: " + ", ".join(BENCHES)

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(dest="name", required=True, title="benchmarks")
        for name, module in BENCHES.items():
            sub = subparsers.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
            module.add_arguments(sub)

    def handle(self, *args, name, **options):
        module = BENCHES[name]
        known = set(inspect.signature(module.run).parameters)
        try:
            result = module.run(**{key: value for key, value in options.items() if key in known}, out=self.stdout.write)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(json.dumps(result))
