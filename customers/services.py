"""Writes on customers: linking authors to CRM records."""

from django.db.models import Q

from .models import Customer, Identity, LinkMethod, Stage


def normalize_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


def _identities(keys) -> dict[tuple[str, str], Customer]:
    by_channel: dict[str, list[str]] = {}
    for channel, handle in keys:
        by_channel.setdefault(channel, []).append(handle)
    query = Q()
    for channel, handles in by_channel.items():
        query |= Q(channel=channel, handle__in=handles)
    return {
        (identity.channel, identity.handle): identity.customer
        for identity in Identity.objects.filter(query).select_related("customer")
    }


def link_authors(*, authors: list[tuple[str, str, str]]) -> dict[tuple[str, str], Customer]:
    """Customers for (channel, handle, display name) triples, keyed by (channel, normalized handle).

    Exact handle match only for now (fuzzy name, email and phone matching come later); an
    unknown handle becomes a prospect. A few queries per batch, whatever its size. Safe under
    concurrency: inserts skip conflicts, so two workers linking one new handle get one customer.
    """
    names: dict[tuple[str, str], str] = {}
    for channel, handle, name in authors:
        handle = normalize_handle(handle)
        if handle:
            names.setdefault((channel, handle), name)
    if not names:
        return {}
    found = _identities(names)
    missing = [key for key in names if key not in found]
    if missing:
        external_ids = {key: f"baton:{key[0]}:{key[1]}" for key in missing}
        Customer.objects.bulk_create(
            [Customer(external_id=external_ids[key], name=names[key] or f"@{key[1]}", stage=Stage.PROSPECT)
             for key in missing],
            ignore_conflicts=True,
        )
        customers = Customer.objects.in_bulk(external_ids.values(), field_name="external_id")
        Identity.objects.bulk_create(
            [Identity(channel=channel, handle=handle, customer=customers[external_ids[(channel, handle)]],
                      method=LinkMethod.HANDLE, confidence=1.0) for channel, handle in missing],
            ignore_conflicts=True,
        )
        found.update(_identities(missing))
    return found


def link_author(*, channel: str, handle: str, name: str = "") -> Customer | None:
    """The customer behind one handle (a prospect if unknown); None for an empty handle."""
    return link_authors(authors=[(channel, handle, name)]).get((channel, normalize_handle(handle)))
