#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys
from pathlib import Path


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A developer's bare `python manage.py ...` (no secret, no .env) runs in development mode;
    # production sets DJANGO_SECRET_KEY, and the web server and workers never pass through here.
    if "DJANGO_SECRET_KEY" not in os.environ and not Path(__file__).with_name(".env").exists():
        os.environ.setdefault("DJANGO_DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
