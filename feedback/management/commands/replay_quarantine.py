from django.core.management.base import BaseCommand, CommandError

from feedback.intake.models import InboundPayload
from feedback.intake.webhooks.services import quarantined, replay_quarantined


class Command(BaseCommand):
    help = (
        "Parse quarantined webhook payloads again (after fixing what made them fail). Payloads whose "
        "signature never verified are skipped unless --include-unverified; even then they are parsed "
        "only if their signature matches the account's current secret."
    )

    def add_arguments(self, parser):
        parser.add_argument("--id", type=int, action="append", dest="ids", help="This payload id (repeatable).")
        parser.add_argument("--reason-contains", dest="reason_contains",
                            help="Payloads whose reason or detail contains this text (e.g. json, shape).")
        parser.add_argument("--all", action="store_true", dest="everything", help="Every quarantined payload.")
        parser.add_argument("--include-unverified", action="store_true",
                            help="Also re-verify payloads quarantined before their signature matched.")

    def handle(self, *args, ids=None, reason_contains=None, everything=False, include_unverified=False, **options):
        if not (ids or reason_contains or everything):
            raise CommandError("Say which payloads: --id N (repeatable), --reason-contains TEXT, or --all.",
                               returncode=2)
        if everything and (ids or reason_contains):
            raise CommandError("--all replays every quarantined payload; do not combine it with --id or "
                               "--reason-contains.", returncode=2)
        if reason_contains is not None and not reason_contains.strip():
            raise CommandError("--reason-contains needs some text.", returncode=2)
        if ids:
            found = set(quarantined(ids=ids).values_list("pk", flat=True))
            missing = sorted(set(ids) - found)
            if missing:
                raise CommandError(
                    f"Not quarantined (or unknown): {missing}. List quarantined payloads in admin "
                    "(Inbound webhook payloads, filter Status = Quarantined).", returncode=2,
                )
        report = replay_quarantined(ids=ids, reason_contains=reason_contains, include_unverified=include_unverified)
        if not report.selected:
            self.stdout.write("No quarantined payloads match.")
            return
        reasons = dict(InboundPayload.Reason.choices)
        lines = [
            f"{report.selected} quarantined payload(s) selected:",
            f"  processed: {report.processed}",
            f"  still quarantined: {report.still_quarantined}"
            + (" (" + ", ".join(f"{reasons.get(r, r)}: {n}" for r, n in sorted(report.reasons.items())) + ")"
               if report.reasons else ""),
            f"  waiting (brand replies to mentions not processed yet): {report.waiting}",
            f"  skipped, signature never verified: {report.skipped_unverified}"
            + (" (add --include-unverified to re-verify them)" if report.skipped_unverified else ""),
        ]
        style = self.style.SUCCESS if not report.still_quarantined else self.style.WARNING
        self.stdout.write(style("\n".join(lines)))
