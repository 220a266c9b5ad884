"""A fake platform API: a real HTTP server on 127.0.0.1 in a thread, for the connectors' tests.

It records every request (method, path, query, headers, body) and answers from a list of canned
responses, in order (the last one repeats): POSTs from `answers`, GETs (a connector asking what is
already there) from `get_answers`; an answer may be a function of the platform (what it was sent). So a test checks exactly what a connector sent and how it reads each
answer. `post_delay` holds each POST that long (recorded first) before answering: a worker can be
killed while it waits.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


@dataclass
class FakePlatform:
    answers: list = field(default_factory=lambda: [(200, {})])
    get_answers: list = field(default_factory=lambda: [(200, {"data": []})])
    requests: list = field(default_factory=list)
    post_delay: float = 0.0

    def answer(self, *answers: tuple[int, dict]) -> None:
        self.answers = list(answers)

    def answer_get(self, *answers: tuple[int, dict]) -> None:
        self.get_answers = list(answers)

    def seen(self, method: str) -> list[Seen]:
        return [request for request in self.requests if request.method == method]

    def start(self) -> "FakePlatform":
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self, method: str, answers: list, delay: float):
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                platform.requests.append(Seen(
                    method=method, path=parts.path,
                    query={key: values[0] for key, values in parse_qs(parts.query).items()},
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length),
                ))
                index = min(len(platform.seen(method)) - 1, len(answers) - 1)
                answer = answers[index]
                # A callable answers from what the platform holds by now (the posts it took, say).
                status, body = answer(platform) if callable(answer) else answer
                if delay:
                    time.sleep(delay)
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client is gone (a worker killed while it waited)

            def do_POST(self):  # noqa: N802 - http.server's name
                self._handle("POST", platform.answers, platform.post_delay)

            def do_GET(self):  # noqa: N802 - http.server's name
                self._handle("GET", platform.get_answers, 0.0)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
