"""The pipeline runs the matching cascade with the post and the author's profile, and every mention
and case event lands on the customer's timeline; the backfill covers rows from before the timeline."""

from datetime import UTC, datetime

import pytest

from customers.matching import refresh_keys
from customers.models import Identity, LinkMethod, MatchSuggestion, TimelineEntry, TimelineKind
from feedback.cases.events import created
from feedback.cases.models import CaseEvent
from feedback.intake.ingest import store_mention
from feedback.linking.services import backfill_timeline
from feedback.pipeline import process_mentions
from tests.factories import CaseFactory, CustomerFactory, MentionFactory

pytestmark = pytest.mark.django_db
POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _store(external_id, text, handle, name="", raw=None):
    mention, _ = store_mention(source="x", external_id=external_id, text=text, posted_at=POSTED,
                               author_handle=handle, author_name=name, raw=raw or {}, enqueue=False)
    return mention


def test_the_profile_email_and_the_name_reach_the_matcher():
    dana = CustomerFactory(name="Dana Kowalski", email="dana@example.com", region="Leeds", stage="customer")
    margaret = CustomerFactory(name="Margaret Okonkwo", region="Lagos", stage="customer")
    refresh_keys(customer_ids=[dana.pk, margaret.pk])
    by_email = _store("1", "@airline my bag is lost", "dk_new", raw={"author": {"email": "Dana@Example.com"}})
    by_name = _store("2", "@airline the flight was cancelled", "maggie", name="Margaret Okonkow",
                     raw={"author": {"location": "Lagos"}})
    process_mentions(mention_ids=[by_email.pk, by_name.pk])
    by_email.refresh_from_db()
    by_name.refresh_from_db()
    assert by_email.customer == dana
    assert Identity.objects.get(handle="dk_new").method == LinkMethod.EMAIL
    assert by_name.customer.stage == "prospect"
    assert MatchSuggestion.objects.get(prospect=by_name.customer).candidate == margaret
    assert TimelineEntry.objects.filter(customer=dana, kind=TimelineKind.MENTION, ref_id=by_email.pk).exists()


def test_backfill_writes_each_line_once():
    customer = CustomerFactory()
    case = CaseFactory(customer=customer)
    mention = MentionFactory(customer=customer, case=case)
    CaseEvent.objects.bulk_create([created(case=case, department=case.department, priority="normal", now=POSTED)])
    assert backfill_timeline() == 2
    assert backfill_timeline() == 0
    kinds = set(TimelineEntry.objects.filter(customer=customer).values_list("kind", "ref_type"))
    assert kinds == {(TimelineKind.MENTION, "mention"), (TimelineKind.CASE, "caseevent")}
    assert TimelineEntry.objects.get(ref_type="mention").ref_id == mention.pk
