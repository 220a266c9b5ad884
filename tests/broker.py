"""The real broker in tests: the task messages services sent, and running them as a worker would.

Services enqueue by task name after commit (`feedback.dispatch`): the message goes to the broker
`make test` configures (Redis). `TaskQueue.run()` takes the messages off that queue, oldest first,
and runs each through the task the Celery app registered under the message's name, with the
message's arguments, in this process and in the test's transaction (a worker thread could not see
the test's uncommitted rows; tests/feedback/test_worker.py runs real workers on committed data).
What a task enqueues after its own commit is sent and run too, until the queue is empty.
"""

import json
from base64 import b64decode

from django.test import TestCase

from config.celery import app

QUEUE = "celery"


class TaskQueue:
    def __init__(self, queue: str = QUEUE):
        self.queue = queue

    def purge(self) -> None:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(self.queue)

    def sent(self) -> list[tuple[str, list]]:
        """(task name, args) of the messages waiting, oldest first, left on the queue."""
        with app.connection_for_read() as connection:
            client = connection.default_channel.client
            raw = client.lrange(self.queue, 0, -1)
        messages = []
        for item in reversed(raw):  # kombu's Redis transport pushes on the left
            message = json.loads(item)
            args, _kwargs, _embed = json.loads(b64decode(message["body"]))
            messages.append((message["headers"]["task"], args))
        return messages

    def run(self, *, limit: int = 100) -> list[tuple[str, list]]:
        """Run every waiting message's task (and the ones they enqueue); returns (name, args) of each, in order."""
        ran = []
        app.loader.import_default_modules()  # the tasks a worker registers at start-up
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            while True:
                message = channel.basic_get(self.queue, no_ack=True)
                if message is None:
                    return ran
                assert len(ran) < limit, f"more than {limit} task messages: a task that enqueues itself forever?"
                name = message.headers["task"]
                args, kwargs, _embed = message.decode()
                ran.append((name, args))
                # The task's own after-commit work (an enqueue) runs when it returns, as after a worker's commit.
                with TestCase.captureOnCommitCallbacks(execute=True):
                    app.tasks[name].apply(args=args, kwargs=kwargs, throw=True)
