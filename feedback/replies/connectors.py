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

`find_sent` asks the platform whether an earlier attempt posted the reply after all (its worker died
while sending, so Baton never heard the answer), before the reply is posted again:
- X: the brand account's own posts newer than the post answered,
  `GET {BATON_X_API_URL}/2/users/{account id}/tweets?since_id={post}&tweet.fields=referenced_tweets`, for one
  that replies to that post with the reply's words (X may shorten links and puts the @handle in front).
- Meta: the replies to the comment, `GET /{comment-id}/comments?fields=id,message,from` (Instagram:
  `/{ig-comment-id}/replies?fields=id,text,from`), for one from the Page with the reply's words. A private
  reply is never looked up: Meta takes one private reply per comment and refuses a second.

A connector raises `SendFailed(retry=True)` for what may work later (timeouts, connection errors, 429,
5xx, Meta's transient errors) and `SendFailed(retry=False)` for what will not (other 4xx: a bad token,
a deleted post). It never logs or returns the token.
"""

import re
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
    page_id: str = ""  # the connected account's own id on the platform (a Page, an X user)


@dataclass(frozen=True)
class Delivered:
    platform_id: str
    url: str = ""


class SendFailed(Exception):
    def __init__(self, message: str, *, retry: bool):
        super().__init__(message)
        self.message = message
        self.retry = retry


def _request(method: str, url: str, *, json=None, data=None, headers=None, params=None) -> httpx.Response:
    try:
        return httpx.request(method, url, json=json, data=data, headers=headers, params=params,
                             timeout=settings.BATON_CONNECTOR_TIMEOUT)
    except httpx.TimeoutException as exc:
        raise SendFailed(f"The platform did not answer in time ({exc.__class__.__name__}).", retry=True) from exc
    except httpx.TransportError as exc:
        raise SendFailed(f"Could not reach the platform ({exc.__class__.__name__}).", retry=True) from exc


def _post(url: str, **kwargs) -> httpx.Response:
    return _request("POST", url, **kwargs)


_LINK = re.compile(r"https?://\S+")


def _words(text: str) -> str:
    """Text compared with what the platform shows: links left out (X shortens them), white space folded."""
    return " ".join(_LINK.sub(" ", text or "").split()).casefold()


def _same_words(ours: str, theirs: str) -> bool:
    """The platform's text is the reply's, possibly after a leading @handle that X adds to a reply."""
    mine, shown = _words(ours), _words(theirs)
    return bool(mine) and (shown == mine or shown.endswith(" " + mine))


def _lookup(url: str, *, platform: str, headers=None, params=None) -> list[dict]:
    """The `data` list of a platform's read answer; a refused or broken read is a SendFailed like a post's."""
    response = _request("GET", url, headers=headers, params=params)
    body = _json(response)
    if response.status_code == 200:
        data = body.get("data", [])
        return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
    retry = response.status_code == 429 or response.status_code >= 500
    raise SendFailed(f"{platform} answered {response.status_code} when asked for the replies already there: "
                     f"{_error_text(body) or response.reason_phrase}", retry=retry)


def _error_text(body: dict) -> str:
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return str(body.get("detail") or body.get("title") or error.get("message") or "")


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

    def find_sent(self, outgoing: Outgoing) -> Delivered | None:
        """The account's post that is this reply, if an earlier attempt made it (None: not there)."""
        if not outgoing.page_id:
            raise SendFailed("Cannot check whether the reply is on X already: the connected account has no X user "
                             "id. Check the account's replies, then send again.", retry=False)
        posts = _lookup(
            f"{settings.BATON_X_API_URL.rstrip('/')}/2/users/{outgoing.page_id}/tweets", platform="X",
            headers={"Authorization": f"Bearer {outgoing.token}"},
            params={"since_id": outgoing.in_reply_to, "max_results": 100, "tweet.fields": "referenced_tweets"},
        )
        for post in posts:
            answers = any(isinstance(ref, dict) and ref.get("type") == "replied_to"
                          and str(ref.get("id")) == outgoing.in_reply_to for ref in post.get("referenced_tweets") or [])
            if answers and post.get("id") and _same_words(outgoing.text, str(post.get("text", ""))):
                return Delivered(platform_id=str(post["id"]), url=f"https://x.com/i/web/status/{post['id']}")
        return None


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

    def find_sent(self, outgoing: Outgoing) -> Delivered | None:
        """The Page's reply to the comment that is this reply, if an earlier attempt made it (None: not there).
        A private reply is not looked up: Meta refuses a second private reply to one comment."""
        if outgoing.kind == "private":
            return None
        instagram = outgoing.source == "instagram"
        edge, text_field = ("replies", "text") if instagram else ("comments", "message")
        params = {"access_token": outgoing.token, "fields": f"id,{text_field},from", "limit": 100}
        if not instagram:
            params["order"] = "reverse_chronological"
        replies = _lookup(f"{settings.BATON_META_GRAPH_URL.rstrip('/')}/{outgoing.in_reply_to}/{edge}",
                          platform="Meta", params=params)
        for reply in replies:
            author = reply.get("from") if isinstance(reply.get("from"), dict) else {}
            mine = not outgoing.page_id or str(author.get("id", "")) == outgoing.page_id
            if mine and reply.get("id") and _same_words(outgoing.text, str(reply.get(text_field, ""))):
                return Delivered(platform_id=str(reply["id"]))
        return None


CONNECTORS = {"x": XConnector(), "meta": MetaConnector()}
# Which connector posts on which channel (a mention's source), given a connected account.
CHANNEL_CONNECTOR = {"x": "x", "facebook": "meta", "instagram": "meta"}
# The account platform each channel's connector posts as.
CHANNEL_PLATFORM = {"x": "x", "facebook": "facebook", "instagram": "instagram"}
