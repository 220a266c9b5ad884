"""Inbound webhooks from X (Account Activity API) and Meta (Facebook Pages, Instagram).

The views verify, store the raw payload and enqueue a parse by id (`views.py`); the parse
turns a stored payload into mentions through `feedback.intake.ingest.store_mentions`
(`services.py`, with the platform shapes in `x.py` and `meta.py`).
"""
