"""Saved inbox views: a user names the inbox's current query string (tab, filters, search, sort)."""

from urllib.parse import parse_qsl, urlencode

from feedback.cases.models import SavedView

# Only the inbox's own parameters are kept (no page: a saved view opens on its first page).
KEPT = ("tab", "department", "q", "intent", "priority", "promise", "source", "sla", "assignee", "tag", "stage", "sort")


def clean_query(query: str) -> str:
    return urlencode([(key, value) for key, value in parse_qsl(query or "") if key in KEPT and value][:20])


def save_view(*, user, name: str, query: str) -> SavedView:
    """Create the view, or replace the query of the user's view of that name."""
    view, _ = SavedView.objects.update_or_create(user=user, name=name.strip()[:80],
                                                 defaults={"query": clean_query(query)})
    return view


def delete_view(*, user, view_id: int) -> bool:
    deleted, _ = SavedView.objects.filter(user=user, pk=view_id).delete()
    return bool(deleted)
