"""Privacy: per-customer export and erasure (portal and services), the retention policy's task."""

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from config.celery import app
from config.errors import NotAllowed
from customers.matching import refresh_keys
from customers.models import AuditEntry, Customer, Identity, MatchKey, TimelineEntry, TimelineKind
from feedback.cases.events import add, note
from feedback.cases.models import Case, CaseEvent
from feedback.intake.models import Mention
from feedback.linking.services import anonymise_old_mentions, erase_customer, export_customer
from tests.factories import CaseFactory, CustomerFactory, IdentityFactory, MentionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def person():
    customer = CustomerFactory(name="Dana Kowalski", email="dana@example.com")
    IdentityFactory(customer=customer, channel="x", handle="dana_k", display_name="Dana Kowalski")
    refresh_keys(customer_ids=[customer.pk])
    case = CaseFactory(customer=customer, subject="Dana's lost bag")
    MentionFactory(customer=customer, case=case, author_handle="dana_k", author_name="Dana Kowalski",
                   text="I am Dana, call me on 0161 555 0100", raw={"author": {"location": "Leeds"}})
    add(note(case=case, text="Dana lives at 3 Elm Street", actor=None, now=timezone.now()))
    return customer


def test_export_holds_everything_and_is_audited(person, admin_user):
    data = export_customer(customer=person, by=admin_user)
    assert data["customer"]["email"] == "dana@example.com"
    assert data["identities"][0]["handle"] == "dana_k"
    assert data["mentions"][0]["text"].startswith("I am Dana")
    assert data["cases"][0]["subject"] == "Dana's lost bag"
    assert any(event["data"].get("text", "").startswith("Dana lives") for event in data["cases"][0]["events"])
    assert any(entry["kind"] == TimelineKind.NOTE for entry in data["timeline"])
    assert AuditEntry.objects.get(action="export").customer_id_ref == person.pk


def test_only_admins_export_or_erase(person):
    agent = UserFactory()
    with pytest.raises(NotAllowed):
        export_customer(customer=person, by=agent)
    with pytest.raises(NotAllowed):
        erase_customer(customer=person, by=agent)


def test_erasure_removes_personal_data_everywhere_and_keeps_the_fact(person, admin_user):
    counts = erase_customer(customer=person, by=admin_user)
    person.refresh_from_db()
    assert person.name == "Erased person" and person.email == "" and person.erased_at is not None
    assert person.external_id  # the CRM's id stays
    assert not Identity.objects.filter(customer=person).exists() and not MatchKey.objects.filter(customer=person).exists()
    mention = Mention.objects.get(customer=person)
    assert (mention.text, mention.author_handle, mention.author_name, mention.raw) == ("[erased]", "", "", {})
    assert Case.objects.get(customer=person).subject == "[erased]"
    assert not CaseEvent.objects.filter(case__customer=person, data__text__icontains="dana").exists()
    assert not TimelineEntry.objects.filter(customer=person, text__contains="Dana").exists()
    audit = AuditEntry.objects.get(action="erase")
    assert audit.customer_id_ref == person.pk and audit.details["mentions"] == 1 == counts["mentions"]
    assert "Dana" not in json.dumps(audit.details)


def test_the_portal_exports_and_erases_for_admins_only(client, person, admin_user):
    client.force_login(admin_user)
    detail = client.get(reverse("customer-detail", args=[person.pk])).content.decode()
    assert reverse("customer-export", args=[person.pk]) in detail
    response = client.post(reverse("customer-export", args=[person.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert json.loads(response.content)["customer"]["name"] == "Dana Kowalski"
    assert client.post(reverse("customer-erase", args=[person.pk]), {"confirm": "nope"}).status_code == 302
    assert Customer.objects.get(pk=person.pk).erased_at is None
    client.post(reverse("customer-erase", args=[person.pk]), {"confirm": "erase"})
    assert Customer.objects.get(pk=person.pk).erased_at is not None


def test_members_who_are_not_admins_get_403_on_export(client, person, service_agent):
    client.force_login(service_agent)
    assert client.post(reverse("customer-export", args=[person.pk])).status_code == 403


def test_retention_anonymises_only_old_mentions_in_batches(settings):
    settings.BATON_MENTION_RETENTION_DAYS = 30
    now = timezone.now()
    customer = CustomerFactory()
    case = CaseFactory(customer=customer, subject="old 0")
    old = [MentionFactory(customer=customer, posted_at=now - timedelta(days=40), text=f"old {i}", case=case)
           for i in range(3)]
    recent = MentionFactory(customer=customer, posted_at=now - timedelta(days=5), text="recent")
    TimelineEntry.objects.create(customer=customer, at=old[0].posted_at, kind=TimelineKind.MENTION,
                                 summary="Posted on X as @someone", text="old 0", ref_type="mention", ref_id=old[0].pk)
    assert anonymise_old_mentions(now=now, limit=2) == 2
    assert anonymise_old_mentions(now=now, limit=2) == 1
    assert anonymise_old_mentions(now=now, limit=2) == 0
    assert all(Mention.objects.get(pk=m.pk).anonymised_at is not None for m in old)
    assert Mention.objects.get(pk=recent.pk).text == "recent"
    assert TimelineEntry.objects.get(ref_id=old[0].pk).text == ""
    assert Case.objects.get(pk=case.pk).subject == "[removed by the retention policy]"
    assert AuditEntry.objects.filter(action="retention").count() == 2


def test_retention_is_off_by_default_and_scheduled_daily(settings):
    settings.BATON_MENTION_RETENTION_DAYS = 0
    MentionFactory(customer=CustomerFactory(), posted_at=timezone.now() - timedelta(days=4000))
    assert anonymise_old_mentions() == 0
    entry = django_settings.CELERY_BEAT_SCHEDULE["mention-retention"]
    assert entry["task"] == "feedback.tasks.anonymise_old_mentions"
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
