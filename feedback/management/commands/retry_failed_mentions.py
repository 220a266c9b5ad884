from django.core.management.base import BaseCommand, CommandError

from feedback.choices import MentionStatus
from feedback.intake.models import Mention
from feedback.pipeline import retry_failed


class Command(BaseCommand):
    help = "Queue failed mentions for processing again (after fixing what made them fail)."

    def add_arguments(self, parser):
        parser.add_argument("--id", type=int, action="append", dest="ids", help="Only this mention id (repeatable).")
        parser.add_argument("--limit", type=int, default=None, help="At most this many mentions.")

    def handle(self, *args, ids=None, limit=None, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be a positive number.", returncode=2)
        if ids:
            not_failed = set(ids) - set(
                Mention.objects.filter(pk__in=ids, status=MentionStatus.FAILED).values_list("pk", flat=True)
            )
            if not_failed:
                raise CommandError(
                    f"Not failed (or unknown): {sorted(not_failed)}. List failed mentions in admin "
                    "(Mentions, filter Status = Failed).",
                    returncode=2,
                )
        count = retry_failed(ids=ids, limit=limit)
        if count:
            self.stdout.write(self.style.SUCCESS(f"{count} failed mention(s) queued again; a worker will process them."))
        else:
            self.stdout.write("No failed mentions.")
