"""Benchmarks behind `python manage.py bench NAME`. Each seeds its own data, prints what it
measured and returns a dict that the command prints as the last line, in JSON."""
