"""Writes on customers: linking an author to a CRM record."""

from django.db import IntegrityError, transaction

from .models import Customer, Identity, LinkMethod, Stage


def normalize_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


def link_author(*, channel: str, handle: str, name: str = "") -> Customer | None:
    """Return the customer behind `handle` on `channel`, creating a prospect if unknown.

    Exact handle match only for now (fuzzy name, email and phone matching come later).
    Safe under concurrency: two workers linking the same new handle get one customer.
    """
    handle = normalize_handle(handle)
    if not handle:
        return None
    identity = Identity.objects.select_related("customer").filter(channel=channel, handle=handle).first()
    if identity:
        return identity.customer
    try:
        with transaction.atomic():
            customer, _ = Customer.objects.get_or_create(
                external_id=f"baton:{channel}:{handle}",
                defaults={"name": name or f"@{handle}", "stage": Stage.PROSPECT},
            )
            Identity.objects.create(
                channel=channel, handle=handle, customer=customer, method=LinkMethod.HANDLE, confidence=1.0
            )
    except IntegrityError:
        # Another worker linked the same handle first: use theirs.
        return Identity.objects.select_related("customer").get(channel=channel, handle=handle).customer
    return customer
