"""What teams tells the apps above it, which it never imports: sent in the writer's transaction.

`departments_changed(department_ids=[...], slugs_changed=bool)`: these departments were renamed,
described, re-slugged or deleted. The board shows departments by name on every panel, and counts
praise routed to the department whose slug is "hr" (`VolumeRollup.named_praise`), so
`feedback.board.upkeep` listens (connected in feedback/apps.py): the cached dashboards are not read
again after commit, and a slug change marks the days of those departments' praise. Sent by the admin,
the one place a department's name or slug is edited.
"""

from collections.abc import Iterable

from django.dispatch import Signal

departments_changed = Signal()


def send_departments_changed(department_ids: Iterable[int], *, slugs_changed: bool = False) -> None:
    ids = sorted(set(department_ids))
    if ids:
        departments_changed.send(sender=None, department_ids=ids, slugs_changed=slugs_changed)
