"""Suggested problems: the recent complaints clustered (`feedback.board.clustering`), stored for the
board and the heads to confirm. `refresh_suggestions` replaces the whole set; the hourly beat runs it. The
board's problems panel lists them, so the cached dashboards are retired after commit (`upkeep.names_changed`)."""

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from feedback.board import upkeep
from feedback.board.clustering import Item, cluster
from feedback.board.days import day_of
from feedback.board.models import SuggestedProblem
from feedback.board.regions import normalise_location, region_name
from feedback.board.rollups import mention_region
from feedback.choices import Intent
from feedback.intake.models import Mention
from feedback.understanding.models import Promise

KEEP = 12


def recent_complaints(*, days: int, limit: int, now=None) -> list[Item]:
    """The latest complaints (intent complaint, or flagged as one), with promise, region, brand/product."""
    now = now or timezone.now()
    rows = (Mention.objects.filter(posted_at__gte=now - timedelta(days=days), posted_at__lte=now)
            .filter(Q(intent=Intent.COMPLAINT) | Q(is_complaint=True))
            .order_by("-posted_at")
            .values_list("id", "text", "posted_at", "promise__slug", "case__department_id", "raw__brand",
                         "raw__product")
            .annotate(location=mention_region())[:limit])
    items = []
    for mention_id, text, posted, promise, department_id, brand, product, location in rows:
        attributes = {"promise": promise or "", "region": normalise_location(location),
                      "product": str(product or brand or "")[:60]}
        items.append(Item(text=text, attributes=attributes, day=day_of(posted), key=(mention_id, department_id)))
    return items


def refresh_suggestions(*, now=None, days: int | None = None, limit: int = 5000) -> list[SuggestedProblem]:
    now = now or timezone.now()
    days = days or settings.BATON_SUGGEST_DAYS
    items = recent_complaints(days=days, limit=limit, now=now)
    found = cluster(items, split_day=day_of(now - timedelta(days=days / 2)), min_size=5)[:KEEP]
    promise_names = dict(Promise.objects.values_list("slug", "name"))
    regions = {item.attributes["region"]: region_name(item.attributes["region"]) for item in items}
    names = {"promise": promise_names, "region": regions}
    rows = []
    for rank, group in enumerate(found, start=1):
        departments = Counter(items[i].key[1] for i in group.members if items[i].key[1])
        rows.append(SuggestedProblem(
            computed_at=now, rank=rank, title=group.title(names)[:200], terms=group.terms,
            attributes={name: [names.get(name, {}).get(value, value), share]
                        for name, (value, share) in group.attributes.items()},
            size=group.size, recent=group.recent, earlier=group.earlier, growth=round(group.growth, 3),
            department_id=departments.most_common(1)[0][0] if departments else None,
            mention_ids=[items[i].key[0] for i in group.members[:20]],
        ))
    with transaction.atomic():
        SuggestedProblem.objects.all().delete()
        SuggestedProblem.objects.bulk_create(rows)
        upkeep.names_changed()  # the board's problems panel lists them
    return rows
