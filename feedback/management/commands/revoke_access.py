"""`python manage.py revoke_access USERNAME [--deactivate]`: end a user's sessions and delete their API token."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config.auth import revoke_access


class Command(BaseCommand):
    help = ("End every session of a user and delete their API token (a lost laptop, a leaked token, someone who "
            "left). --deactivate also refuses the user from now on.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--deactivate", action="store_true", help="Also mark the user inactive.")

    def handle(self, *args, username: str, deactivate: bool, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.", returncode=2)
        counts = revoke_access(user=user, deactivate=deactivate)
        self.stdout.write(f"{username}: {counts['sessions']} session(s) ended, {counts['tokens']} API token(s) "
                          f"deleted{'; the user is now inactive' if deactivate else ''}.")
