"""Connectors: one per channel, each posts one reply and returns the platform's id for it.

- `XConnector`: X API v2, create a post that replies to a post:
  `POST {BATON_X_API_URL}/2/tweets` with `{"text": ..., "reply": {"in_reply_to_tweet_id": ...}}` and
  `Authorization: Bearer <OAuth 2.0 user access token>`; 201 `{"data": {"id": ..., "text": ...}}`.
- `MetaConnector`: Graph API. A public reply to a Facebook comment or post:
  `POST {BATON_META_GRAPH_URL}/{comment-id}/comments` with `message` (an Instagram comment:
  `/{ig-comment-id}/replies`), answered `{"id": ...}`; a private reply (Messenger, one per comment):
  `POST /{page-id}/messages` with `{"recipient": {"comment_id": ...}, "message": {"text": ...}}`,
  answered `{"recipient_id": ..., "message_id": ...}`. The Page access token goes in `access_token`.
- `OutboxConnector`: where no brand account is connected (the demo), the reply is written to the
  outbox (`OutboxMessage`), which the case shows.

A connector raises `SendFailed(retry=True)` for what may work later (timeouts, connection errors, 429,
5xx, Meta's transient errors) and `SendFailed(retry=False)` for what will not (other 4xx: a bad token,
a deleted post). It never logs or returns the token.
"""

from dataclasses import dataclass

import httpx
from django.conf import settings


@dataclass(frozen=True)
class Outgoing:
    """What to post: built by the service from a locked reply."""

    reply_id: int
    case_id: int
    text: str
    kind: str  # public / private
    source: str  # the channel of the post answered: x, facebook, instagram, ...
    in_reply_to: str  # the platform id of the post answered
    to_handle: str
    token: str = ""
    page_id: str = ""


@dataclass(frozen=True)
class Delivered:
    platform_id: str
    url: str = ""


class SendFailed(Exception):
    def __init__(self, message: str, *, retry: bool):
        super().__init__(message)
        self.message = message
        self.retry = retry


def _post(url: str, *, json=None, data=None, headers=None, params=None) -> httpx.Response:
    try:
        return httpx.post(url, json=json, data=data, headers=headers, params=params,
                          timeout=settings.BATON_CONNECTOR_TIMEOUT)
    except httpx.TimeoutException as exc:
        raise SendFailed(f"The platform did not answer in time ({exc.__class__.__name__}).", retry=True) from exc
    except httpx.TransportError as exc:
        raise SendFailed(f"Could not reach the platform ({exc.__class__.__name__}).", retry=True) from exc


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class XConnector:
    name = "x"

    def send(self, outgoing: Outgoing) -> Delivered:
        if outgoing.kind != "public":
            raise SendFailed("The X connector posts public replies only.", retry=False)
        response = _post(
            f"{settings.BATON_X_API_URL.rstrip('/')}/2/tweets",
            json={"text": outgoing.text, "reply": {"in_reply_to_tweet_id": outgoing.in_reply_to}},
            headers={"Authorization": f"Bearer {outgoing.token}"},
        )
        body = _json(response)
        if response.status_code in (200, 201) and isinstance(body.get("data"), dict) and body["data"].get("id"):
            post_id = str(body["data"]["id"])
            return Delivered(platform_id=post_id, url=f"https://x.com/i/web/status/{post_id}")
        detail = body.get("detail") or body.get("title") or "; ".join(
            str(error.get("message", "")) for error in body.get("errors", []) if isinstance(error, dict)
        ) or response.reason_phrase
        retry = response.status_code == 429 or response.status_code >= 500
        raise SendFailed(f"X answered {response.status_code}: {detail}", retry=retry)


class MetaConnector:
    name = "meta"

    def send(self, outgoing: Outgoing) -> Delivered:
        base = settings.BATON_META_GRAPH_URL.rstrip("/")
        params = {"access_token": outgoing.token}
        if outgoing.kind == "private":
            if not outgoing.page_id:
                raise SendFailed("A private reply needs the Page id of the connected account.", retry=False)
            response = _post(f"{base}/{outgoing.page_id}/messages", params=params, json={
                "recipient": {"comment_id": outgoing.in_reply_to}, "message": {"text": outgoing.text},
            })
            key = "message_id"
        else:
            edge = "replies" if outgoing.source == "instagram" else "comments"
            response = _post(f"{base}/{outgoing.in_reply_to}/{edge}", params=params, data={"message": outgoing.text})
            key = "id"
        body = _json(response)
        if response.status_code == 200 and body.get(key):
            return Delivered(platform_id=str(body[key]))
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        transient = bool(error.get("is_transient")) or error.get("code") in (1, 2, 4, 17, 32, 341, 613)
        retry = transient or response.status_code == 429 or response.status_code >= 500
        raise SendFailed(f"Meta answered {response.status_code}: {error.get('message') or response.reason_phrase}",
                         retry=retry)


CONNECTORS = {"x": XConnector(), "meta": MetaConnector()}
# Which connector posts on which channel (a mention's source), given a connected account.
CHANNEL_CONNECTOR = {"x": "x", "facebook": "meta", "instagram": "meta"}
# The account platform each channel's connector posts as.
CHANNEL_PLATFORM = {"x": "x", "facebook": "facebook", "instagram": "instagram"}
