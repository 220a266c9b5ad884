"""A CRM integration drives the API over real HTTP (plain httpx against pytest-django's live server):
a full sync, an incremental sync with changes made during the sync, a replayed upsert with the same
Idempotency-Key, and a conflicting update refused by If-Match."""

import uuid

import httpx
import pytest
from django.core.cache import cache

from customers.models import Customer


@pytest.fixture
def crm(live_server, integration_key, settings):
    # The settle window is tested on its own (test_crm_api.py); here every committed write is listed at once.
    settings.BATON_API_SYNC_SETTLE_SECONDS = 0
    cache.clear()
    key = integration_key(["customers:read", "customers:write"])
    with httpx.Client(base_url=f"{live_server.url}/api/v1", headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as client:
        yield client


def _pages(client, cursor=None, **params):
    """Follow next_cursor until has_more is false: (rows, last cursor)."""
    rows = []
    while True:
        response = client.get("/customers/", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["results"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return rows, cursor


@pytest.mark.django_db(transaction=True)
def test_a_crm_syncs_customers_over_http(crm):
    # The CRM pushes its 250 customers in three requests, the first one twice (a retry after a timeout).
    batches = [[{"external_id": f"crm-{n}", "name": f"Customer {n}", "stage": "lead", "value": n}
                for n in range(start, min(start + 100, 250))] for start in range(0, 250, 100)]
    key = str(uuid.uuid4())
    first = crm.post("/customers/bulk/", json=batches[0], headers={"Idempotency-Key": key})
    assert first.status_code == 200 and first.json()["created"] == 100
    replay = crm.post("/customers/bulk/", json=batches[0], headers={"Idempotency-Key": key})
    assert replay.status_code == 200 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    for batch in batches[1:]:
        assert crm.post("/customers/bulk/", json=batch, headers={"Idempotency-Key": str(uuid.uuid4())}).json()[
            "created"] == len(batch)
    assert Customer.objects.count() == 250
    assert len(crm.get("/customers/", params={"page_size": 1000}).json()["results"]) == 250

    # Full sync, 60 per page; after the second page the CRM's other process changes rows meanwhile.
    seen, cursor = [], None
    for _page in range(2):
        body = crm.get("/customers/", params={"page_size": 60, **({"cursor": cursor} if cursor else {})}).json()
        seen += body["results"]
        cursor = body["next_cursor"]
    sent_already, not_yet = seen[0]["external_id"], "crm-200"
    changes = crm.post("/customers/bulk/", json=[
        {"external_id": sent_already, "stage": "customer"},
        {"external_id": not_yet, "stage": "customer"},
        {"external_id": "crm-3", "stage": "lead", "value": 3},  # the same values: unchanged
        {"external_id": "crm-new", "name": "Arrived during the sync"},
    ]).json()
    assert [row["outcome"] for row in changes["results"]] == ["updated", "updated", "unchanged", "created"]
    rest, cursor = _pages(crm, cursor=cursor, page_size=60)
    ids = [row["external_id"] for row in seen + rest]
    # Every customer exactly once, except the changed one that had already been sent: it comes once more,
    # changed, at the end; the changed one not yet sent comes once, changed; the unchanged row does not move.
    assert set(ids) == {f"crm-{n}" for n in range(250)} | {"crm-new"}
    assert len(ids) == 252 and ids.count(sent_already) == 2
    assert set(ids[-3:]) == {sent_already, not_yet, "crm-new"}  # the newest updated_at: last
    final = {row["external_id"]: row for row in seen + rest}
    assert final[sent_already]["stage"] == final[not_yet]["stage"] == "customer"

    # Incremental sync from the last cursor: nothing until something changes, then exactly that.
    assert _pages(crm, cursor=cursor)[0] == []
    crm.post("/customers/bulk/", json=[{"external_id": "crm-7", "region": "Lisbon"}, {"external_id": "crm-8"}])
    changed, cursor = _pages(crm, cursor=cursor)
    assert [(row["external_id"], row["region"]) for row in changed] == [("crm-7", "Lisbon")]
    final["crm-7"] = changed[0]

    # Two writers: the second one's If-Match is stale and is refused.
    customer_url = f"/customers/{final['crm-5']['id']}/"
    etag = crm.get(customer_url).headers["ETag"]
    assert crm.patch(customer_url, json={"name": "First writer"}, headers={"If-Match": etag}).status_code == 200
    refused = crm.patch(customer_url, json={"name": "Second writer"}, headers={"If-Match": etag})
    assert refused.status_code == 412
    assert refused.json()["code"] == "precondition_failed"
    assert crm.get(customer_url).json()["name"] == "First writer"
