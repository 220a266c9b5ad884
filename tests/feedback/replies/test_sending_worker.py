"""A reply whose worker is killed (SIGKILL) while the platform holds its post: real Celery worker processes on
the Redis broker, a local fake X that keeps what it was sent. The beat's sweep puts the reply back once, the next
worker asks X whether the dead attempt posted it, and X gets the reply exactly once."""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from feedback.cases.models import CaseEvent
from feedback.choices import EventKind
from feedback.intake.models import Account
from feedback.replies import services
from feedback.replies.models import Reply, ReplyStatus
from feedback.replies.rules import CONSIDERATIONS
from feedback.tasks import send_reply, sweep_stuck_replies
from tests.concurrency import wait_for
from tests.factories import CaseFactory, CustomerFactory, MentionFactory
from tests.fakeplatform import FakePlatform
from tests.servers import sessions_of_others, stop, worker_process

POST_ID = "1600000000000000001"
ANSWERED = "1460323737035677698"


def _timeline(platform):
    """X's answer to GET /2/users/:id/tweets: the replies it took, as X shows them (the @handle in front)."""
    return 200, {"data": [
        {"id": POST_ID, "text": f"@ritaflies {request.json()['text']}",
         "referenced_tweets": [{"type": "replied_to", "id": request.json()["reply"]["in_reply_to_tweet_id"]}]}
        for request in platform.seen("POST")
    ]}


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_reply_whose_worker_is_killed_mid_send_is_posted_exactly_once(service_agent):
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "make test runs the workers on Redis"
    queue = "celery"  # where services enqueue the sends; the broker DB is this test run's own
    _purge(queue)
    x = FakePlatform(post_delay=60).start()  # X takes the post, then holds its answer: the worker dies waiting
    x.answer((201, {"data": {"id": POST_ID, "text": "..."}}))
    x.answer_get(_timeline)
    env = {"BATON_X_API_URL": x.url, "BATON_REPLY_SENDING_TIMEOUT": "1"}
    try:
        account = Account.objects.create(platform="x", slug="airline-x", handle="airline", platform_user_id="42")
        services.set_sending_token(account=account, token="oauth2-user-token-xyz")
        case = CaseFactory(customer=CustomerFactory(name="Rita Flies"))
        MentionFactory(case=case, customer=case.customer, source="x", external_id=ANSWERED, author_handle="ritaflies",
                       text="@airline my bag is lost")
        reply = services.compose_reply(case=case, by=service_agent, text="Sorry Rita, we are tracing your bag now.",
                                       considerations=[key for key, _ in CONSIDERATIONS])

        doomed = worker_process(settings, queue=queue, name="doomed", env=env)
        try:
            send_reply.apply_async(args=[reply.pk], queue=queue)
            assert wait_for(lambda: len(x.seen("POST")) == 1, timeout=90), "the first worker never posted"
            os.kill(doomed.pid, signal.SIGKILL)  # X has the post; Baton never hears the answer
            doomed.wait(timeout=10)
        finally:
            stop(doomed)
        assert wait_for(lambda: sessions_of_others() == 0), "the killed worker's database session never ended"
        reply.refresh_from_db()
        assert (reply.status, reply.attempts, reply.platform_id) == (ReplyStatus.SENDING, 1, "")
        time.sleep(1.5)  # past BATON_REPLY_SENDING_TIMEOUT (1 s for this test; 10 minutes by default)

        heir = worker_process(settings, queue=queue, name="heir", env=env)
        try:
            # Two beat ticks: the first takes the reply back (once), the second finds nothing to take.
            sweep_stuck_replies.apply_async(queue=queue)
            assert wait_for(lambda: Reply.objects.get(pk=reply.pk).status == ReplyStatus.SENT, timeout=90), (
                f"not sent: {Reply.objects.filter(pk=reply.pk).values('status', 'last_error').first()}")
            sweep_stuck_replies.apply_async(queue=queue)
            assert wait_for(lambda: _queue_empty(queue), timeout=30)
            time.sleep(2)  # anything the second tick could have started would have reached X by now
        finally:
            stop(heir)
    finally:
        x.stop()
        _purge(queue)

    reply.refresh_from_db()
    assert (reply.status, reply.platform_id, reply.attempts, reply.unconfirmed_attempt) == (
        ReplyStatus.SENT, POST_ID, 2, None)
    # X got the reply exactly once; the second attempt only asked for the account's posts since the one answered.
    assert [request.method for request in x.requests] == ["POST", "GET"]
    assert x.requests[1].path == "/2/users/42/tweets" and x.requests[1].query["since_id"] == ANSWERED
    assert CaseEvent.objects.filter(case=case, kind=EventKind.REPLY).count() == 1
    assert reply.sent_at > timezone.now() - timedelta(minutes=5)


def _purge(queue: str) -> None:
    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge(queue)


def _queue_empty(queue: str) -> bool:
    with app.connection_for_write() as broker:
        return broker.default_channel.queue_declare(queue=queue).message_count == 0
