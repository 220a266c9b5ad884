"""`python manage.py seed_demo`: the airline demo (see feedback/demo.py and DATA.md)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from tqdm import tqdm

from feedback import demo
from feedback.board import rollups, suggestions
from feedback.cases.models import Case, CaseEvent
from feedback.choices import CaseStatus, EventKind
from feedback.intake.models import Mention
from feedback.linking.services import backfill_timeline
from feedback.sla.models import Escalation


class Command(BaseCommand):
    help = (
        "Create the airline demo: one login per department, a board member and an admin (password "
        f"'{demo.DEMO_PASSWORD}', DEBUG only), an API token, 300 CRM customers and about 2,000 real tweets "
        "processed by the real pipeline, with cases worked into every status. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--mentions", type=int, default=demo.DEFAULT_MENTIONS,
            help=f"How many demo tweets to load (default {demo.DEFAULT_MENTIONS}, at most the file's rows).",
        )
        parser.add_argument(
            "--no-users", action="store_true",
            help="Create no users at all (no logins with a known password, no API token); case work is unattributed. "
                 "Required when DEBUG is off.",
        )

    def handle(self, *args, mentions: int, no_users: bool, verbosity: int, **options):
        if not settings.DEBUG and not no_users:
            raise CommandError(
                f"Refusing to create demo users with the known password '{demo.DEMO_PASSWORD}' while DEBUG is off. "
                "Set DJANGO_DEBUG=true for a local demo, or pass --no-users to load the demo data without users.",
                returncode=2,
            )
        if mentions < 0:
            raise CommandError("--mentions must be 0 or more.", returncode=2)

        def progress(items, total):
            return tqdm(items, total=total, desc="Mentions", unit="mention", file=self.stderr._out,
                        disable=verbosity == 0 or total == 0, mininterval=0.5)  # the raw stream: tqdm redraws with \r

        started = time.monotonic()
        report = demo.seed_demo(
            mentions=mentions, users=not no_users, progress=progress,
            say=(lambda message: self.stdout.write(message)) if verbosity else None,
        )
        # Customer-timeline lines for rows an older demo database holds from before the timeline
        # existed (idempotent: nothing to write on a new database), so its customer pages are complete.
        backfill_timeline()
        # The board's rollups and suggested problems, now (the worker would refresh the rollups within a minute).
        rollups.rebuild()
        suggestions.refresh_suggestions()
        if verbosity:
            self._summary(report, seconds=time.monotonic() - started)

    def _summary(self, report: demo.SeedReport, *, seconds: float) -> None:
        out = self.stdout.write
        if report.mentions_requested > report.mentions_available:
            out(self.style.WARNING(
                f"Only {report.mentions_available} demo mentions exist; loaded those."
            ))
        out("")
        out(f"{'':16}{'created':>9}{'already there':>15}")
        for what in ["users", "memberships", "board seats", "API tokens", "customers", "identities", "mentions",
                     "cases", "escalations"]:
            created, existing = report.created[what], report.existing[what]
            out(f"{what:16}{created:>9}{existing if what not in ('cases', 'escalations') else '':>15}")
        if report.work:
            out("Case work this run: " + ", ".join(f"{n} {what}" for what, n in sorted(report.work.items())))
        failed = report.work["failed mentions"] + report.existing["failed mentions"]
        if failed:
            out(self.style.WARNING(
                f"{failed} mentions failed processing: their errors are on the mentions in /admin/."
            ))
        by_status = dict(Case.objects.values_list("status").annotate(n=Count("id")))
        out("Cases by status:   " + ", ".join(f"{s.value} {by_status.get(s.value, 0)}" for s in CaseStatus))
        out(
            f"Totals:            {Mention.objects.count()} mentions, {Case.objects.count()} cases, "
            f"{CaseEvent.objects.filter(kind=EventKind.HANDOFF).count()} handoffs, "
            f"{Escalation.objects.count()} escalations"
        )
        out(f"Done in {seconds:.1f} s.")
        out("")
        # The server is not running yet (`make run` starts it next): say where it will be, not that it is up.
        out(self.style.SUCCESS("Demo data loaded. Once the server runs (`make run` starts it), open "
                               "http://127.0.0.1:8000/"))
        if report.logins:
            out(f"Log in with the password '{demo.DEMO_PASSWORD}' as:")
            for spec in report.logins:
                out(f"  {spec.username:15} {spec.first_name} {spec.last_name} ({spec.label})")
            out("  (users that were already there keep the password they have)")
        else:
            out("No users were created (--no-users): create your own with `manage.py createsuperuser`.")
        if report.token:
            out(f"API token of '{demo.INTEGRATION_USERNAME}' (may add mentions): {report.token}")
            out(f'  curl -H "Authorization: Token {report.token}" -H "Content-Type: application/json" '
                "http://127.0.0.1:8000/api/v1/mentions/ -d '{...}'")
