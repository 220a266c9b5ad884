"""Row locks on cases, in one order for every writer: the customer rows first (by id), then the
case rows (by id), then whatever row the caller decides on (a handoff, a feedback note).

Every write on a case takes its locks here, so two writers never wait on each other in
opposite orders (which PostgreSQL would end with a deadlock error) and two writers for one
customer (a new post being attached, a person replying, a stage change) follow each other.

The locks are held until the caller's transaction ends: each function refuses to run outside
a transaction, where a lock would be released at once.

Only the case row itself is locked (`FOR UPDATE OF` the case table): a joined department or
customer row read with it is not, so writes on one department's cases do not queue behind
each other.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

from customers.models import Customer
from feedback.cases.models import Case


class LockOutsideTransaction(RuntimeError):
    """A lock was asked for outside `transaction.atomic()`: it would be released at once."""


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise LockOutsideTransaction("Case locks are held until the transaction ends: call this inside transaction.atomic().")


def lock_customers(customer_ids: Iterable[int], *, skip_locked: bool = False) -> list[int]:
    """Lock the customer rows in id order; return the ids locked (with `skip_locked`, those
    another transaction holds are left out instead of waited for)."""
    _require_transaction()
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    return list(
        Customer.objects.select_for_update(skip_locked=skip_locked).filter(pk__in=ids).order_by("pk")
        .values_list("pk", flat=True)
    )


def lock_case(case_id: int) -> Case:
    """Lock the case's customer, then the case; return the case as it is now (with its department).

    The customer id is read before the case is locked; if the case changed customer meanwhile,
    the new customer is locked too and the case read again. Raises `Case.DoesNotExist`.
    """
    _require_transaction()
    customer_id = Case.objects.filter(pk=case_id).values_list("customer_id", flat=True).get()
    while True:
        lock_customers([customer_id])
        case = Case.objects.select_for_update(of=("self",)).select_related("department").get(pk=case_id)
        if case.customer_id == customer_id:
            return case
        customer_id = case.customer_id


def lock_cases(cases: QuerySet[Case], *, customer_ids: Iterable[int] | None = None,
               skip_locked: bool = False) -> list[Case]:
    """Lock the customers of `cases`, then the cases (by id); return the cases locked.

    `customer_ids`: the customers to lock first, when the caller knows them (for example to
    create a case for a customer who has none yet, which needs that customer's lock); by default
    the customers of `cases`. A case whose customer is not locked (it changed customer meanwhile,
    or with `skip_locked` another transaction holds it) is left out; with `skip_locked` a case
    another transaction holds is left out too.
    """
    _require_transaction()
    if customer_ids is None:
        customer_ids = cases.order_by().values_list("customer_id", flat=True).distinct()
    locked = lock_customers(customer_ids, skip_locked=skip_locked)
    return list(
        cases.filter(customer_id__in=locked).select_for_update(of=("self",), skip_locked=skip_locked).order_by("pk")
    )
