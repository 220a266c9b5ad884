"""Exactly once over real HTTP: the same mention delivered by parallel requests is stored once."""

import json
import threading
import urllib.error
import urllib.request

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from feedback.intake.models import Mention
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_parallel_posts_of_one_mention_store_one_row(live_server):
    user = UserFactory(username="parallel-integration")
    user.user_permissions.add(Permission.objects.get(codename="add_mention", content_type__app_label="feedback"))
    token = Token.objects.create(user=user).key
    body = json.dumps({
        "source": "x", "external_id": "parallel-1", "text": "@airline is anyone there? 📞",
        "posted_at": "2026-11-20T09:00:00Z", "author_handle": "parallel_pat",
    }).encode()
    barrier = threading.Barrier(8)
    statuses, errors = [], []

    def deliver():
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/mentions/", data=body, method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as exc:
            errors.append((exc.code, exc.read()[:300]))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(statuses) == [200] * 7 + [201]
    assert Mention.objects.filter(source="x", external_id="parallel-1").count() == 1
