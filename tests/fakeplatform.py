"""A fake platform API: a real HTTP server on 127.0.0.1 in a thread, for the connectors' tests.

It records every request (method, path, query, headers, body) and answers from a list of canned
responses, in order (the last one repeats), so a test checks exactly what a connector sent and how it
reads each answer.
"""

import json
import threading
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
    requests: list = field(default_factory=list)

    def answer(self, *answers: tuple[int, dict]) -> None:
        self.answers = list(answers)

    def start(self) -> "FakePlatform":
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                platform.requests.append(Seen(
                    method="POST", path=parts.path,
                    query={key: values[0] for key, values in parse_qs(parts.query).items()},
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length),
                ))
                index = min(len(platform.requests) - 1, len(platform.answers) - 1)
                status, body = platform.answers[index]
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
