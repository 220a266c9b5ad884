"""Enqueueing by task name (feedback.dispatch): every name reaches a registered task, after commit only."""

import pytest
from django.conf import settings
from django.db import transaction

from config.celery import app
from feedback import dispatch


@pytest.fixture(scope="module")
def registered():
    """The task names a worker knows: what it registers at start-up (autodiscovery of the apps'
    `tasks` modules), without anything this test process happened to import before."""
    app.loader.import_default_modules()
    return set(app.tasks)


def test_every_name_dispatch_sends_is_a_registered_task(registered):
    assert dispatch.TASKS <= registered, sorted(dispatch.TASKS - registered)
    for name in dispatch.TASKS:
        assert app.tasks[name].name == name
        assert app.tasks[name].__module__ == "feedback.tasks"


def test_every_beat_entry_names_a_registered_task(registered):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule, "the beat has entries (the SLA sweep, the recoveries)"
    for entry, spec in schedule.items():
        assert spec["task"] in registered, f"beat entry {entry!r} names {spec['task']!r}, which no module registers"
    # The app the beat runs with reads the same schedule.
    assert {spec["task"] for spec in app.conf.beat_schedule.values()} == {spec["task"] for spec in schedule.values()}


def test_an_unknown_name_is_refused_before_anything_is_sent(db, task_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(ValueError, match="Unknown task"):
        dispatch.enqueue("feedback.tasks.no_such_task", 1)
    assert callbacks == []
    assert task_queue.sent() == []


def test_the_message_is_sent_after_commit_and_not_at_all_after_a_rollback(db, task_queue,
                                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dispatch.enqueue(dispatch.SEND_NOTIFICATION_EMAILS, [7, 8])
        try:
            with transaction.atomic():
                dispatch.enqueue(dispatch.PARSE_INBOUND_PAYLOAD, 9)
                raise RuntimeError("the transaction fails")
        except RuntimeError:
            pass
    assert task_queue.sent() == []  # not before the commit
    assert len(callbacks) == 1  # the rolled-back enqueue left nothing to send
    callbacks[0]()
    assert task_queue.sent() == [("feedback.tasks.send_notification_emails", [[7, 8]])]


def test_several_messages_go_in_order_with_their_options(db, task_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.enqueue_many([(dispatch.PROCESS_MENTIONS, ([1, 2],)), (dispatch.PROCESS_MENTION, (3,))],
                              retry=False)
    assert task_queue.sent() == [("feedback.tasks.process_mentions", [[1, 2]]),
                                 ("feedback.tasks.process_mention", [3])]
