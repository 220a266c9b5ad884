"""What customers tells the apps above it, which it never imports: sent in the writer's transaction.

`regions_changed(customer_ids=[...])`: these customers' region changed, or they are about to be
deleted (their posts lose it). The board counts posts by their customer's region, so
`feedback.board.upkeep` listens (connected in feedback/apps.py) and marks the days of their posts for
recomputation. Sent by the CRM's writes (`customers.sync`) and the admin; merges and erasure go through
`feedback.linking`, which marks what they change itself.
"""

from collections.abc import Iterable

from django.dispatch import Signal

regions_changed = Signal()


def send_regions_changed(customer_ids: Iterable[int]) -> None:
    ids = sorted(set(customer_ids))
    if ids:
        regions_changed.send(sender=None, customer_ids=ids)
