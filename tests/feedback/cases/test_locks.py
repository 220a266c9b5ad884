"""Case locks (feedback/cases/locks.py): customer row, then case row, inside the caller's transaction."""

import threading

import pytest
from django.db import DatabaseError, connections, transaction

from customers.models import Customer
from feedback.cases.locks import LockOutsideTransaction, lock_case, lock_cases
from feedback.cases.models import Case
from teams.models import Department
from tests.factories import CaseFactory, CustomerFactory


@pytest.mark.django_db(transaction=True)
def test_lock_case_refuses_to_run_outside_a_transaction():
    case = CaseFactory()
    with pytest.raises(LockOutsideTransaction):
        lock_case(case.pk)  # autocommit: the lock would be gone before the caller wrote anything
    with pytest.raises(LockOutsideTransaction):
        lock_cases(Case.objects.all())


def _held_elsewhere(model, pk) -> bool:
    """Whether another connection finds the row locked (it asks with NOWAIT)."""
    outcome = {}

    def probe():
        try:
            with transaction.atomic():
                model.objects.select_for_update(nowait=True).filter(pk=pk).exists()
            outcome["held"] = False
        except DatabaseError:
            outcome["held"] = True
        finally:
            connections.close_all()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(timeout=30)
    return outcome["held"]


@pytest.mark.django_db(transaction=True)
def test_lock_case_holds_the_customer_and_the_case_but_not_the_department():
    case = CaseFactory()
    other_case_of_the_customer = CaseFactory(customer=case.customer)
    with transaction.atomic():
        locked = lock_case(case.pk)
        assert locked.pk == case.pk and locked.department.slug == "service"
        assert _held_elsewhere(Customer, case.customer_id)
        assert _held_elsewhere(Case, case.pk)
        assert not _held_elsewhere(Case, other_case_of_the_customer.pk)
        assert not _held_elsewhere(Department, case.department_id)
    assert not _held_elsewhere(Customer, case.customer_id)  # released at commit


@pytest.mark.django_db(transaction=True)
def test_lock_cases_locks_given_customers_even_without_cases_and_skips_held_ones():
    free, busy, caseless = CaseFactory(), CaseFactory(), CustomerFactory()
    hold = threading.Event()
    release = threading.Event()

    def hold_busy_customer():
        try:
            with transaction.atomic():
                lock_case(busy.pk)
                hold.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_busy_customer)
    holder.start()
    try:
        assert hold.wait(timeout=30)
        with transaction.atomic():
            locked = lock_cases(Case.objects.filter(pk__in=[free.pk, busy.pk]), skip_locked=True)
            assert [case.pk for case in locked] == [free.pk]  # the busy customer's case is left for later
        with transaction.atomic():
            assert lock_cases(Case.objects.none(), customer_ids=[caseless.pk]) == []
            assert _held_elsewhere(Customer, caseless.pk)
    finally:
        release.set()
        holder.join(timeout=30)
