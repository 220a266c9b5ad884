"""A CRM's webhook endpoint on 127.0.0.1 (or ::1) for the outbound webhook tests: a real HTTP server in a thread."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class Receiver:
    """A CRM's webhook endpoint: answers the statuses given in turn (then 200), records each request. `host="::1"`
    listens on IPv6's loopback."""

    def __init__(self, statuses=(), host: str = "127.0.0.1"):
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"nope")

            def log_message(self, *args):
                pass

        self.server = (_IPv6Server if ":" in host else ThreadingHTTPServer)((host, 0), Handler)
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.server.server_port}/hooks/baton"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
