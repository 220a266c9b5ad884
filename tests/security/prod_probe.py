"""A child process with the production settings: `python -m tests.security.prod_probe REQUESTS.json OUT.json`.

The environment says DJANGO_DEBUG=false and where collectstatic wrote STATIC_ROOT; settings are read from it
as in production (no test overrides: the manifest storage, WhiteNoise, SSL redirect, secure cookies, CSP,
django-axes). Each request of REQUESTS.json ({"path", "method", "user": id or null, "headers", "secure"}) is
sent through Django's full stack; OUT.json gets what came back.
"""

import json
import os
import sys


def main(requests_path: str, out_path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    with open(requests_path) as handle:
        requests = json.load(handle)
    users = get_user_model().objects.in_bulk([item["user"] for item in requests if item.get("user")])
    clients: dict = {}
    results = []
    for item in requests:
        key = (item.get("user"), item.get("secure", True))
        if key not in clients:
            client = Client(raise_request_exception=False)  # a 500 comes back as a response, not raised
            if key[0]:
                client.force_login(users[key[0]])
            clients[key] = client
        # HTTPS unless told otherwise, as behind TLS.
        response = getattr(clients[key], item.get("method", "get"))(item["path"], headers=item.get("headers") or {},
                                                                     secure=key[1])
        body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
        results.append({
            "path": item["path"],
            "user": item.get("user"),
            "status": response.status_code,
            "csp": response.headers.get("Content-Security-Policy", ""),
            "hsts": response.headers.get("Strict-Transport-Security", ""),
            "content_type": response.headers.get("Content-Type", ""),
            "location": response.headers.get("Location", ""),
            "body": body.decode("utf-8", "replace")[:200_000],
        })
    with open(out_path, "w") as handle:
        json.dump({"debug": settings.DEBUG, "staticfiles": settings.STORAGES["staticfiles"]["BACKEND"],
                   "static_root": str(settings.STATIC_ROOT), "results": results}, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
