"""python manage.py backfill_customer_timeline: the customer 360 timeline lines of mentions and case
events written before the timeline existed (idempotent; run once after migrating)."""

from django.core.management.base import BaseCommand

from feedback.linking.services import backfill_timeline


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        written = backfill_timeline(out=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"{written:,} timeline lines written"))
