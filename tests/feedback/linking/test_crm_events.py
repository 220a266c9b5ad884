"""What the CRM hears from identity resolution and merges: customer.created for a new prospect,
mention.linked for each processed post, customer.merged for a merge (deliveries stored, sent later)."""

from datetime import UTC, datetime

import pytest

from customers.webhooks.models import WebhookPayload
from customers.webhooks.services import create_subscription
from feedback.intake.ingest import store_mention
from feedback.linking.services import merge_customers
from feedback.pipeline import process_mentions
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _events():
    return list(WebhookPayload.objects.order_by("id").values_list("event_type", "body"))


def test_the_pipeline_tells_the_crm_about_prospects_and_links():
    create_subscription(name="CRM", url="https://crm.example/hooks", event_types=["customer.created", "mention.linked"])
    mention, _ = store_mention(source="x", external_id="1", text="@airline lost my bag", author_handle="newbie",
                               posted_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), enqueue=False)
    process_mentions(mention_ids=[mention.pk])
    mention.refresh_from_db()
    kinds = [kind for kind, _ in _events()]
    assert kinds.count("customer.created") == 1 and kinds.count("mention.linked") == 1
    linked = next(body for kind, body in _events() if kind == "mention.linked")
    assert str(mention.customer.external_id) in str(linked) and str(mention.pk) in str(linked)


def test_a_merge_tells_the_crm_which_record_survives():
    create_subscription(name="CRM", url="https://crm.example/hooks", event_types=["customer.merged"])
    survivor, merged = CustomerFactory(external_id="crm-1"), CustomerFactory(external_id="crm-2")
    merge_customers(survivor=survivor, merged=merged)
    (kind, body), = _events()
    assert kind == "customer.merged" and "crm-1" in str(body) and "crm-2" in str(body)
