"""`python -m config.procfile_worker CELERY-ARGS...`: the Celery worker as honcho should run it.

honcho stops a process by sending SIGTERM to its whole process group: the worker's pool processes
would get it together with the main process and die in the middle of a task, the main process
then waits for them, and honcho ends it with SIGKILL. Here the worker runs in a session of its
own, and this launcher (what honcho signals) forwards one SIGTERM to the worker's main process
only: Celery's warm shutdown, which lets running tasks finish and stops its pool in order. A
second signal (Ctrl-C twice) asks for Celery's cold shutdown. Exits with the worker's status.
"""

import signal
import subprocess
import sys


def main(argv: list[str]) -> int:
    worker = subprocess.Popen([sys.executable, "-m", "celery", *argv], start_new_session=True)
    signals_seen = 0

    def forward(signum, frame):
        nonlocal signals_seen
        signals_seen += 1
        try:
            worker.send_signal(signal.SIGTERM if signals_seen == 1 else signal.SIGQUIT)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return worker.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
