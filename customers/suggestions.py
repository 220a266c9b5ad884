"""Suggestions the matcher was not sure of: an agent confirms or rejects them on the case page.

Rejecting is customers' own business (`reject`). Confirming merges the prospect into the candidate,
which moves feedback's mentions and cases too: `feedback.linking.services.confirm_suggestion` does
it and calls `mark_confirmed` here in the same transaction.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config.errors import TransitionError

from .models import Identity, LinkMethod, MatchSuggestion, SuggestionStatus


def pending_for(*, customer_id: int) -> list[MatchSuggestion]:
    """The pending suggestions about a prospect, surest first (candidates loaded)."""
    return list(
        MatchSuggestion.objects.filter(prospect_id=customer_id, status=SuggestionStatus.PENDING,
                                       candidate__merged_into__isnull=True)
        .select_related("candidate", "candidate__owner_department").order_by("-confidence", "pk")
    )


def _lock_pending(suggestion_id: int) -> MatchSuggestion:
    suggestion = MatchSuggestion.objects.select_for_update().get(pk=suggestion_id)
    if suggestion.status != SuggestionStatus.PENDING:
        raise TransitionError(f"This suggestion was already {suggestion.get_status_display().lower()}.")
    return suggestion


def reject(*, suggestion_id: int, by, now: datetime | None = None) -> MatchSuggestion:
    """The prospect is not that customer: the pair is never suggested again (it stays, rejected)."""
    with transaction.atomic():
        suggestion = _lock_pending(suggestion_id)
        suggestion.status, suggestion.decided_by, suggestion.decided_at = SuggestionStatus.REJECTED, by, now or timezone.now()
        suggestion.save(update_fields=["status", "decided_by", "decided_at"])
    return suggestion


def lock_pending(*, suggestion_id: int) -> MatchSuggestion:
    """The suggestion, row-locked, if still pending (TransitionError otherwise). Inside a transaction."""
    return _lock_pending(suggestion_id)


def mark_confirmed(*, suggestion: MatchSuggestion, by, now: datetime) -> None:
    """Record a person's confirmation: the suggestion and the suggested handle's identity (now a
    manual link, certain)."""
    MatchSuggestion.objects.filter(pk=suggestion.pk).update(status=SuggestionStatus.CONFIRMED, decided_by=by,
                                                            decided_at=now)
    Identity.objects.filter(channel=suggestion.channel, handle=suggestion.handle).update(
        method=LinkMethod.MANUAL, confidence=1.0)
