"""Webhook writes: accept a delivery (verify, store, enqueue), parse a stored payload, replay quarantine, prune.

Exactly once, nothing lost, nothing unbounded:
- a POST is checked before its body is stored (rate, account, signature, size); a delivery that verifies
  becomes one `InboundPayload` row, kept whole; a refused one is counted (`RejectedDeliveryCount`) and kept
  with a small prefix of its body only, or past the per-account limit only counted;
- the view only verifies and stores; the parse runs in a task by payload id, after commit;
- the parse locks the payload row and skips a processed one, and mentions go through
  `store_mentions` (unique source + external_id), so a duplicate task, a platform retry or a
  replay stores nothing twice; edits, removals and brand replies are idempotent as well;
- a payload that cannot be parsed is quarantined with its reason and replayed after a fix; one item
  that breaks the field rules (`feedback.intake.validation`, as for the API) is rejected alone, the
  others are applied, and the payload is quarantined as `items_rejected` for a replay;
- quarantined payloads and refusal counts are pruned after their retention (`prune_inbound_payloads`).
"""

import hashlib
import json
import logging
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from config import ratelimit
from feedback import dispatch
from feedback.cases.services import record_channel_reply
from feedback.choices import MentionStatus
from feedback.intake import validation
from feedback.intake.batch import store_valid
from feedback.intake.ingest import store_mentions
from feedback.intake.models import Account, AccountPlatform, InboundPayload, Mention, RejectedDeliveryCount

from . import meta, x
from .crypto import SecretUnavailable
from .events import BrandReply, EditMention, Ignored, NewMention, Rejected, RemoveMention, UnknownShape
from .signatures import META_SIGNATURE_HEADER, X_SIGNATURE_HEADER, verify_meta, verify_x

logger = logging.getLogger(__name__)

Status = InboundPayload.Status
Reason = InboundPayload.Reason

READ_CHUNK = 64 * 1024
MAX_PARSE_ATTEMPTS = 12  # a payload waiting for a mention's processing is quarantined after this many tries
DROPPED_HEADERS = {"cookie", "authorization", "proxy-authorization"}
# Of a refused delivery, only so much of its headers is kept (its body: BATON_WEBHOOK_REJECTED_KEEP_BYTES).
REJECTED_HEADERS_MAX = 40
REJECTED_HEADER_CHARS = 300
MAX_REPORTED_SIZE = 2**62  # a Content-Length beyond any real body is counted as this
REJECTED_ITEMS_KEPT = 50  # of the items a delivery had rejected, those listed in payload.result["rejected"]


@dataclass(frozen=True)
class Channel:
    name: str
    platforms: tuple[str, ...]
    signature_header: str
    verify: Callable[[str, bytes, str], bool]
    max_bytes_setting: str = "BATON_WEBHOOK_MAX_BYTES"  # the body limit: what the platform sends, at least

    @property
    def max_bytes(self) -> int:
        return getattr(settings, self.max_bytes_setting)


CHANNELS = {
    InboundPayload.Channel.X: Channel(InboundPayload.Channel.X, (AccountPlatform.X,), X_SIGNATURE_HEADER, verify_x),
    InboundPayload.Channel.META: Channel(
        InboundPayload.Channel.META, (AccountPlatform.FACEBOOK, AccountPlatform.INSTAGRAM),
        META_SIGNATURE_HEADER, verify_meta, "BATON_WEBHOOK_META_MAX_BYTES",
    ),
}


@dataclass(frozen=True)
class Body:
    data: bytes  # the whole body, or its first bytes when truncated
    size: int  # as announced by Content-Length, or as read
    truncated: bool


@dataclass(frozen=True)
class Verdict:
    """What the view answers the platform: the stored payload, or None for a delivery only counted (429)."""

    status: int
    code: str
    message: str
    payload: InboundPayload | None
    retry_after: int = 0  # seconds, for a 429


@dataclass
class ParseOutcome:
    payload_id: int
    status: str
    reason: str = ""
    counts: dict = field(default_factory=dict)
    waiting: bool = False


# --- Receiving ------------------------------------------------------------------


def find_account(*, channel: Channel, ref: str) -> Account | None:
    return Account.objects.filter(slug=ref[:100], platform__in=channel.platforms, is_active=True).first()


def announced_size(content_length: str | None) -> int | None:
    """Content-Length as a number (capped), or None when absent or not a number."""
    value = (content_length or "").strip()
    if not value or not value.isascii() or not value.isdigit():
        return None
    return min(int(value[:20]), MAX_REPORTED_SIZE)


def request_stream(request):
    """The stream to read a delivery's body from, or None when it cannot be read.

    Django reads a body by its Content-Length (none: an empty body). A chunked body has none: a server that
    decodes chunked input and marks its end (gunicorn sets `wsgi.input_terminated`) is read directly; another
    one (Django's development server) cannot be read safely, and the view answers 411.
    """
    if request.META.get("CONTENT_LENGTH") or "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        return request
    return request.environ["wsgi.input"] if request.environ.get("wsgi.input_terminated") else None


def read_prefix(stream, size: int) -> bytes:
    """At most `size` bytes (fewer only at the end of the body)."""
    chunks, total = [], 0
    while total < size and (chunk := stream.read(min(READ_CHUNK, size - total))):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_body(stream, *, content_length: str | None, limit: int, keep: int | None = None) -> Body:
    """Read at most `limit` bytes in chunks: an oversized body is never held in memory whole. Of an oversized
    body (announced, or found while reading) the first `keep` bytes come back, `truncated`.

    Reads from the request stream, not `request.body`, so DATA_UPLOAD_MAX_MEMORY_SIZE does not apply.
    """
    keep = settings.BATON_WEBHOOK_REJECTED_KEEP_BYTES if keep is None else keep
    announced = announced_size(content_length)
    if announced is not None and announced > limit:
        return Body(data=read_prefix(stream, keep), size=announced, truncated=True)
    chunks, total = [], 0
    while chunk := stream.read(READ_CHUNK):
        total += len(chunk)
        if total > limit:  # no (or a wrong) Content-Length: stop reading here
            kept = b"".join(chunks)[:keep]
            return Body(data=kept + chunk[: max(keep - len(kept), 0)], size=total, truncated=True)
        chunks.append(chunk)
    return Body(data=b"".join(chunks), size=total, truncated=False)


def discard_rest(stream, *, content_length: str | None, budget: int) -> bool:
    """Read and drop what is left of a refused body, up to `budget` bytes, so the connection ends cleanly and
    the client reads the answer (a server that closes a socket with unread input resets it). False when more
    is announced than the budget: then nothing is read (the answer may be lost; such a client sent too much)."""
    if stream is None:
        return False
    announced = announced_size(content_length)
    if announced is not None and announced > budget + READ_CHUNK:
        return False
    read = 0
    while read <= budget and (chunk := stream.read(READ_CHUNK)):
        read += len(chunk)
    return read <= budget


def request_headers(headers) -> dict[str, str]:
    """The headers worth keeping with a payload (credentials and cookies dropped)."""
    return {name: value for name, value in headers.items() if name.lower() not in DROPPED_HEADERS}


def _small_headers(headers: dict) -> dict[str, str]:
    """Of a refused delivery's headers, a bounded part: anyone can send them."""
    return {str(name)[:100]: str(value)[:REJECTED_HEADER_CHARS]
            for name, value in list(headers.items())[:REJECTED_HEADERS_MAX]}


def _header(headers: dict, name: str) -> str:
    name = name.lower()
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _store(*, channel: Channel, account: Account | None, account_ref: str, headers: dict, content_type: str,
           body: Body, status: str, verified: bool, reason: str = "", detail: str = "") -> InboundPayload:
    return InboundPayload.objects.create(
        channel=channel.name, account=account, account_ref=account_ref[:200], headers=headers,
        content_type=content_type[:200], body=body.data, body_size=body.size, body_truncated=body.truncated,
        body_sha256="" if body.truncated else hashlib.sha256(body.data).hexdigest(),
        verified=verified, status=status, reason=reason, detail=detail[:4000],
    )


def count_rejection(*, channel: str, account_ref: str, reason: str, size: int, now: datetime | None = None) -> None:
    """One more refused delivery for (day, channel, account, reason): one upsert, whichever process counts."""
    now = now or timezone.now()
    quote = connection.ops.quote_name
    table = quote(RejectedDeliveryCount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, channel, account_ref, reason, count, bytes, last_at) "  # noqa: S608
            f"VALUES (%s, %s, %s, %s, 1, %s, %s) "
            f"ON CONFLICT (day, channel, account_ref, reason) DO UPDATE SET "
            f"count = {table}.count + 1, bytes = {table}.bytes + excluded.bytes, last_at = excluded.last_at",
            [now.date(), channel, account_ref[:100], reason, min(max(size, 0), MAX_REPORTED_SIZE), now],
        )


def _rate(setting: str) -> ratelimit.Limit:
    return ratelimit.parse_limit(getattr(settings, setting))


def enqueue_parse(payload_id: int) -> None:
    """Parse the payload in a task, after the current transaction commits (at once outside one)."""
    # No publish retries: the platform wants an answer within seconds, and a payload whose
    # message was lost stays `received` until `recover_inbound_payloads` enqueues it again.
    dispatch.enqueue(dispatch.PARSE_INBOUND_PAYLOAD, payload_id, retry=False)


def address_limited(client: str | None) -> Verdict | None:
    """A 429 for a client address over BATON_WEBHOOK_RATE_PER_IP requests (this one counted), or past
    BATON_WEBHOOK_REJECTS_PER_IP refusals; None when it may go on. GETs (CRC and subscription checks) too."""
    if client is None:
        return None
    decision = ratelimit.hit("webhook-ip", client, _rate("BATON_WEBHOOK_RATE_PER_IP"))
    if decision.allowed:  # under the total: is the address blocked for the requests it had refused?
        decision = ratelimit.peek("webhook-ip-refused", client, _rate("BATON_WEBHOOK_REJECTS_PER_IP"))
    if decision.allowed:
        return None
    return Verdict(429, "rate_limited", "Too many requests from this address; try again later.", None,
                   decision.retry_after)


def count_refused_address(client: str | None) -> None:
    """One more refusal for the client address (a delivery refused, a wrong verify token)."""
    if client is None:
        return
    limit = _rate("BATON_WEBHOOK_REJECTS_PER_IP")
    refused = ratelimit.hit("webhook-ip-refused", client, limit)
    if refused.count == limit.count:  # logged once per window, not per request
        logger.warning("%s had %d webhook requests refused: answered 429 for %d s", client, refused.count,
                       refused.retry_after)


def accept_delivery(*, channel: Channel, account_ref: str, headers: dict, content_type: str, stream,
                    content_length: str | None, client: str | None = None) -> Verdict:
    """Check one POST before its body is stored, then store it: received (parse enqueued after commit), or
    refused and counted.

    In order, each before the next is paid for: the client's rate, and whether it had too many deliveries
    refused (BATON_WEBHOOK_REJECTS_PER_IP; 429, nothing read or kept), the account
    (404), the signature header (401), the announced size (413), the account's secret (503), the body, read up
    to the channel's limit (BATON_WEBHOOK_MAX_BYTES for X, BATON_WEBHOOK_META_MAX_BYTES for Meta; 413), the
    signature (403). A refused delivery is counted
    (`RejectedDeliveryCount`) and kept quarantined with only its first BATON_WEBHOOK_REJECTED_KEEP_BYTES bytes
    and a bounded part of its headers; past BATON_WEBHOOK_REJECTS_PER_ACCOUNT refusals for one account (unknown
    accounts share one count) it is answered 429 and only counted. A delivery that verifies is kept whole.
    """
    announced = announced_size(content_length)
    limited = address_limited(client)
    if limited is not None:
        count_rejection(channel=channel.name, account_ref="", reason=Reason.RATE_LIMITED, size=announced or 0)
        return limited

    account = find_account(channel=channel, ref=account_ref)
    keep = settings.BATON_WEBHOOK_REJECTED_KEEP_BYTES
    limit = channel.max_bytes

    def reject(status: int, reason: str, message: str, detail: str, *, read: Body | None = None) -> Verdict:
        slug = account.slug if account is not None else ""
        count_refused_address(client)
        decision = ratelimit.hit(f"webhook-rejects:{channel.name}", slug, _rate("BATON_WEBHOOK_REJECTS_PER_ACCOUNT"))
        size = read.size if read is not None else (announced or 0)
        if not decision.allowed:
            count_rejection(channel=channel.name, account_ref=slug, reason=Reason.RATE_LIMITED, size=size)
            return Verdict(429, "rate_limited", "Too many refused deliveries for this account; try again later.",
                           None, decision.retry_after)
        count_rejection(channel=channel.name, account_ref=slug, reason=reason, size=size)
        if read is None:  # not read yet: a prefix and one byte more, to know whether there is more
            prefix = read_prefix(stream, keep + 1)
            size, read = max(size, len(prefix)), Body(data=prefix, size=size, truncated=len(prefix) > keep)
        data = read.data[:keep]
        kept = Body(data=data, size=size, truncated=read.truncated or size > len(data))
        payload = _store(channel=channel, account=account, account_ref=account_ref, headers=_small_headers(headers),
                         content_type=content_type, body=kept, status=Status.QUARANTINED, verified=False,
                         reason=reason, detail=detail)
        logger.warning("Refused %s webhook delivery #%s (account %r): %s", channel.name, payload.pk,
                       account_ref[:100], reason)
        return Verdict(status, reason, message, payload)

    if account is None:
        return reject(404, Reason.UNKNOWN_ACCOUNT, "No such account.",
                      f"No active {channel.name} account with slug {account_ref[:100]!r}.")
    signature = _header(headers, channel.signature_header)
    if not signature:
        return reject(401, Reason.MISSING_SIGNATURE, "The signature header is missing.",
                      f"No {channel.signature_header} header.")
    too_large = f"the limit ({channel.max_bytes_setting}) is {limit}. The first {keep} bytes are kept."
    if announced is not None and announced > limit:
        return reject(413, Reason.TOO_LARGE, "The body is too large.", f"{announced} bytes announced; {too_large}")
    try:
        secret = account.secret
    except SecretUnavailable as exc:
        logger.error("Webhook account %s cannot verify deliveries: %s", account.slug, exc)
        return reject(503, Reason.ACCOUNT_MISCONFIGURED, "The account cannot verify deliveries yet.", str(exc))
    body = read_body(stream, content_length=content_length, limit=limit, keep=keep)
    if body.truncated:
        return reject(413, Reason.TOO_LARGE, "The body is too large.", f"Over {limit} bytes read; {too_large}",
                      read=body)
    if not channel.verify(secret, body.data, signature):
        return reject(403, Reason.BAD_SIGNATURE, "The signature does not match.",
                      f"{channel.signature_header} does not match the body signed with the secret of {account.slug}.",
                      read=Body(data=body.data, size=body.size, truncated=len(body.data) > keep))

    with transaction.atomic():
        payload = _store(channel=channel, account=account, account_ref=account_ref, headers=headers,
                         content_type=content_type, body=body, status=Status.RECEIVED, verified=True)
        enqueue_parse(payload.pk)
    return Verdict(200, "received", "Received.", payload)


# --- Parsing --------------------------------------------------------------------


def parse_payload(*, payload_id: int, replay: bool = False, reverify: bool = False) -> ParseOutcome | None:
    """Turn a stored payload into mentions, edits, removals and brand replies.

    The task calls it for `received` payloads; `replay=True` also takes quarantined ones, and
    `reverify=True` checks an unverified payload's signature again with the account's current
    secret (an unverified payload is never parsed without a valid signature).
    """
    with transaction.atomic():
        payload = InboundPayload.objects.select_for_update().filter(pk=payload_id).first()
        if payload is None:
            return None
        if payload.status == Status.PROCESSED or (payload.status == Status.QUARANTINED and not replay):
            return ParseOutcome(payload.pk, payload.status, payload.reason, payload.result)
        if not payload.verified and not reverify:
            return ParseOutcome(payload.pk, payload.status, payload.reason, payload.result)
        previous_reason = payload.reason
        payload.attempts += 1

        failure = None if payload.verified else _reverify(payload)
        data = None
        if failure is None:
            failure, data = _decode(payload)
        events: list = []
        if failure is None:
            try:
                events = _parse(payload, data)
            except UnknownShape as exc:
                failure = (Reason.UNKNOWN_SHAPE, str(exc))
            except Exception as exc:  # noqa: BLE001 - e.g. a timestamp that is no number: quarantine, not crash
                logger.exception("Parsing webhook payload %s failed", payload.pk)
                failure = (Reason.PARSE_ERROR, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
        counts, waiting, rejected = Counter(), [], []
        if failure is None:
            try:
                with transaction.atomic():  # a savepoint: an error undoes this payload's effects only
                    counts, waiting, rejected = _apply(events, payload)
            except Exception as exc:  # noqa: BLE001 - a bad payload must never crash the worker
                logger.exception("Parsing webhook payload %s failed", payload.pk)
                failure = (Reason.PARSE_ERROR, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")

        payload.result = dict(counts)
        if rejected and failure is None:
            payload.result["rejected"] = rejected[:REJECTED_ITEMS_KEPT]
        if previous_reason:
            payload.result["replayed_after"] = previous_reason
        if failure is not None:
            _mark(payload, Status.QUARANTINED, *failure)
            logger.warning("Quarantined webhook payload #%s: %s", payload.pk, failure[0])
        elif waiting and payload.attempts < MAX_PARSE_ATTEMPTS:
            _mark(payload, Status.RECEIVED, "",
                  f"Brand replies wait for mention(s) {sorted(set(waiting))} to be processed; "
                  "recover_inbound_payloads tries again.")
        elif waiting:
            _mark(payload, Status.QUARANTINED, Reason.REPLY_PARENT_PENDING,
                  f"Mention(s) {sorted(set(waiting))} were never processed, so the brand's replies to them "
                  "could not be put on a case. Fix them (retry_failed_mentions), then replay this payload.")
        elif rejected:
            _mark(payload, Status.QUARANTINED, Reason.ITEMS_REJECTED, _rejected_detail(rejected))
            logger.warning("Webhook payload #%s: %d item(s) rejected, the rest applied", payload.pk, len(rejected))
        else:
            payload.processed_at = timezone.now()
            _mark(payload, Status.PROCESSED, "", "")
        return ParseOutcome(payload.pk, payload.status, payload.reason, payload.result, waiting=bool(waiting))


def _mark(payload: InboundPayload, status: str, reason: str, detail: str) -> None:
    payload.status, payload.reason, payload.detail = status, reason, detail[:4000]
    payload.save(update_fields=["status", "reason", "detail", "result", "attempts", "account", "verified",
                                "processed_at"])


def _reverify(payload: InboundPayload) -> tuple[str, str] | None:
    channel = CHANNELS[payload.channel]
    if payload.body_truncated:
        return (payload.reason or Reason.TOO_LARGE,
                f"Only the first {len(payload.body)} of {payload.body_size} bytes were kept: it cannot be verified.")
    account = payload.account or find_account(channel=channel, ref=payload.account_ref)
    if account is None:
        return Reason.UNKNOWN_ACCOUNT, f"Still no active {channel.name} account {payload.account_ref[:100]!r}."
    signature = _header(payload.headers, channel.signature_header)
    if not signature:
        return Reason.MISSING_SIGNATURE, f"No {channel.signature_header} header."
    try:
        secret = account.secret
    except SecretUnavailable as exc:
        return Reason.ACCOUNT_MISCONFIGURED, str(exc)
    if not channel.verify(secret, bytes(payload.body), signature):
        return Reason.BAD_SIGNATURE, f"Still does not match the current secret of {account.slug}."
    payload.account, payload.verified = account, True
    return None


def _decode(payload: InboundPayload) -> tuple[tuple[str, str] | None, object]:
    if payload.body_truncated:
        return (Reason.TOO_LARGE, "The body was not kept whole."), None
    media_type = payload.content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return (Reason.UNSUPPORTED_CONTENT_TYPE,
                f"Content-Type {payload.content_type[:100]!r}; the platforms send application/json."), None
    body = bytes(payload.body)
    try:
        return None, json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        return (Reason.INVALID_JSON, f"The body is not UTF-8: {exc}"), None
    except json.JSONDecodeError as exc:
        return (Reason.INVALID_JSON,
                f"{exc.msg} at line {exc.lineno} column {exc.colno} (body of {len(body)} bytes)."), None
    except RecursionError:
        return (Reason.INVALID_JSON, f"The JSON is nested too deeply to parse (body of {len(body)} bytes)."), None
    except ValueError as exc:  # NaN or Infinity, an integer of more than 4,300 digits
        return (Reason.INVALID_JSON, f"{exc} (body of {len(body)} bytes)."), None


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _brand(channel: str) -> tuple[set[str], set[str]]:
    accounts = Account.objects.filter(platform__in=CHANNELS[channel].platforms)
    ids = {pk for pk in accounts.values_list("platform_user_id", flat=True) if pk}
    handles = {handle.lstrip("@").lower() for handle in accounts.values_list("handle", flat=True) if handle}
    return ids, handles


def _parse(payload: InboundPayload, data) -> list:
    brand_ids, brand_handles = _brand(payload.channel)
    if payload.channel == InboundPayload.Channel.X:
        return x.parse(data, brand_ids=brand_ids, brand_handles=brand_handles)
    return meta.parse(data, brand_ids=brand_ids, brand_handles=brand_handles, received_at=payload.received_at)


def _with_origin(item: dict, payload: InboundPayload) -> dict:
    return {**item, "raw": {**(item.get("raw") or {}), "inbound_payload_id": payload.pk},
            "received_at": payload.received_at}


class _Rejections:
    """The items of one payload that were rejected, with their field messages."""

    def __init__(self, counts: Counter):
        self.counts = counts
        self.items: list[dict] = []

    def add(self, kind: str, external_id, fields: dict) -> None:
        self.counts["items_rejected"] += 1
        self.items.append({"kind": kind, "external_id": str(external_id or "")[:200], "fields": fields})


def _checked(*pairs: tuple[str, str, object]) -> tuple[dict, dict]:
    """(cleaned values by key, field messages) for (key, rule, value) triples: the rules of
    `validation.check_text` (an external id, a text, a url)."""
    cleaned, errors = {}, {}
    for key, rule, value in pairs:
        try:
            cleaned[key] = validation.check_text(rule, value)
        except validation.Invalid as exc:
            errors[key] = exc.messages
    return cleaned, errors


def _valid_item(item: dict, parent: str) -> tuple[dict | None, dict | None]:
    """A parser's mention item under the API's field rules, and its thread parent under an external id's."""
    data, errors = validation.validate_webhook_mention(item)
    if parent:
        _, parent_errors = _checked(("parent_external_id", "external_id", parent))
        if parent_errors:
            return None, {**(errors or {}), **parent_errors}
    return data, errors


def _rejected_detail(rejected: list[dict]) -> str:
    lines = [f"{len(rejected)} item(s) of this delivery were rejected; the others were applied. Fix the cause "
             "(a limit in feedback/intake/validation.py, or the stored body), then replay this payload: the "
             "applied items are not applied twice."]
    for item in rejected[:20]:
        messages = "; ".join(f"{name}: {' '.join(map(str, texts))}" for name, texts in item["fields"].items())
        lines.append(f"- {item['kind']} {item['external_id'] or '(no id)'}: {messages}")
    return "\n".join(lines)


def _apply(events: list, payload: InboundPayload) -> tuple[Counter, list[int], list[dict]]:
    """Apply the events; an item that breaks the field rules is rejected alone (counted, listed)."""
    counts: Counter = Counter()
    waiting: list[int] = []
    rejections = _Rejections(counts)
    new = []
    for event in events:
        if isinstance(event, NewMention):
            data, errors = _valid_item(event.item, event.parent_external_id)
            if errors:
                rejections.add("mention", event.item.get("external_id"), errors)
            else:
                new.append((event, data))
    if new:
        outcome = store_valid([_with_origin(data, payload) for _, data in new])
        for result, (event, data) in zip(outcome, new, strict=True):
            if isinstance(result, dict):  # the database refused it: a value the rules do not cover
                rejections.add("mention", data["external_id"], result)
                continue
            mention_id, created = result
            counts["mentions_created" if created else "mentions_duplicate"] += 1
            if created and event.parent_external_id:
                Mention.objects.filter(pk=mention_id).update(parent_external_id=event.parent_external_id.strip())
    for event in events:
        if isinstance(event, EditMention):
            data, errors = _valid_item(event.item, event.parent_external_id)
            if errors:
                rejections.add("edit", event.external_id, errors)
            else:
                counts[_edit(event, data, payload)] += 1
        elif isinstance(event, RemoveMention):
            cleaned, errors = _checked(("external_id", "external_id", event.external_id))
            if errors:
                rejections.add("removal", event.external_id, errors)
                continue
            removed = Mention.objects.filter(
                source=event.source, external_id=cleaned["external_id"], removed_at__isnull=True
            ).update(removed_at=event.removed_at or timezone.now())
            counts["mentions_removed" if removed else "removals_unknown_or_repeated"] += 1
        elif isinstance(event, BrandReply):
            text = event.text if isinstance(event.text, str) and event.text.strip() else "(no text: media only)"
            cleaned, errors = _checked(("external_id", "external_id", event.external_id),
                                       ("in_reply_to", "external_id", event.in_reply_to),
                                       ("text", "text", text), ("url", "url", event.url or ""))
            if errors:
                rejections.add("brand_reply", event.external_id, errors)
                continue
            outcome, waiting_on = _brand_reply(event, payload, cleaned)
            counts[outcome] += 1
            if waiting_on:
                waiting.append(waiting_on)
        elif isinstance(event, Ignored):
            counts[f"ignored:{event.kind}"] += event.count
        elif isinstance(event, Rejected):
            rejections.add(event.kind, event.external_id, event.fields)
    return counts, waiting, rejections.items


def _edit(event: EditMention, data: dict, payload: InboundPayload) -> str:
    """`data`: the event's item, validated (its text is the new text)."""
    external_id = data["external_id"]

    def locked():
        return Mention.objects.select_for_update().filter(source=event.source, external_id=external_id).first()

    mention = locked()
    if mention is None:  # the edit arrived before (or without) the original
        [(mention_id, created)] = store_mentions([_with_origin(data, payload)])
        if created:
            Mention.objects.filter(pk=mention_id).update(
                edited_at=event.edited_at, parent_external_id=event.parent_external_id.strip()
            )
            return "edits_stored_as_new"
        mention = locked()
    if mention.text == data["text"]:
        return "edits_unchanged"
    raw = dict(mention.raw or {})
    raw["history"] = [*(raw.get("history") or []), {
        "text": mention.text, "replaced_at": event.edited_at.isoformat(), "inbound_payload_id": payload.pk,
    }]
    mention.text, mention.raw, mention.edited_at = data["text"], raw, event.edited_at
    mention.save(update_fields=["text", "raw", "edited_at"])
    return "mentions_edited"


def _brand_reply(event: BrandReply, payload: InboundPayload, cleaned: dict) -> tuple[str, int | None]:
    """Record the brand's own post answering a mention as a reply on that mention's case."""
    parent = Mention.objects.filter(source=event.source, external_id=cleaned["in_reply_to"]).first()
    if parent is None:
        return "replies_to_unknown_posts", None
    if parent.case_id is None:
        if parent.status == MentionStatus.PROCESSED:
            return "replies_to_mentions_without_case", None
        return "replies_waiting", parent.pk  # the mention is not processed yet: try again later
    return _record_brand_reply(case_id=parent.case_id, event=event, payload=payload, cleaned=cleaned), None


def _record_brand_reply(*, case_id: int, event: BrandReply, payload: InboundPayload, cleaned: dict) -> str:
    recorded = record_channel_reply(case_id=case_id, text=cleaned["text"], posted_at=event.posted_at,
                                    source=event.source, external_id=cleaned["external_id"],
                                    in_reply_to=cleaned["in_reply_to"], url=cleaned["url"],
                                    inbound_payload_id=payload.pk)
    return "replies_recorded" if recorded else "replies_already_recorded"


# --- Replay and recovery ----------------------------------------------------------


@dataclass
class ReplayReport:
    selected: int = 0
    processed: int = 0
    still_quarantined: int = 0
    waiting: int = 0
    skipped_unverified: int = 0
    reasons: Counter = field(default_factory=Counter)  # why the still-quarantined ones are


def quarantined(*, ids: list[int] | None = None, reason_contains: str | None = None):
    payloads = InboundPayload.objects.filter(status=Status.QUARANTINED).order_by("id")
    if ids is not None:
        payloads = payloads.filter(pk__in=ids)
    if reason_contains:
        payloads = payloads.filter(
            Q(reason__icontains=reason_contains.strip().replace(" ", "_")) | Q(detail__icontains=reason_contains)
        )
    return payloads


def replay_quarantined(*, ids: list[int] | None = None, reason_contains: str | None = None,
                       include_unverified: bool = False) -> ReplayReport:
    """Parse quarantined payloads again, one transaction each. Unverified ones only with
    `include_unverified`, and then only if their signature matches the account's current secret."""
    report = ReplayReport()
    for payload_id, verified in quarantined(ids=ids, reason_contains=reason_contains).values_list("pk", "verified"):
        report.selected += 1
        if not verified and not include_unverified:
            report.skipped_unverified += 1
            continue
        outcome = parse_payload(payload_id=payload_id, replay=True, reverify=True)
        if outcome is None:
            continue
        if outcome.status == Status.PROCESSED:
            report.processed += 1
        elif outcome.status == Status.RECEIVED:
            report.waiting += 1
        else:
            report.still_quarantined += 1
            report.reasons[outcome.reason] += 1
    return report


def stuck_payload_ids(*, older_than: datetime, limit: int = 500) -> list[int]:
    """Verified payloads never parsed (broker down, worker lost) or waiting: for the recovery task."""
    return list(
        InboundPayload.objects.filter(status=Status.RECEIVED, received_at__lt=older_than)
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )


def payload_counts() -> list[dict]:
    """Payloads per (status, reason), for the admin summary."""
    return list(
        InboundPayload.objects.values("status", "reason").annotate(count=Count("id")).order_by("status", "reason")
    )


# --- Retention ----------------------------------------------------------------------


@dataclass
class PruneReport:
    refused: int = 0  # unverified payloads (a prefix each), older than BATON_REJECTED_RETENTION_DAYS
    quarantined: int = 0  # verified payloads kept for replay, older than BATON_QUARANTINE_RETENTION_DAYS
    counts: int = 0  # RejectedDeliveryCount days older than BATON_REJECTED_RETENTION_DAYS
    more: bool = False  # a batch was full: call again


def prune_inbound_payloads(*, now: datetime | None = None, batch: int = 1000) -> PruneReport:
    """Delete quarantined payloads and refusal counts past their retention, at most `batch` payloads of each
    kind per call (one short transaction per batch). Processed and waiting payloads are not touched."""
    now = now or timezone.now()
    refused_before = now - timedelta(days=settings.BATON_REJECTED_RETENTION_DAYS)
    quarantined_before = now - timedelta(days=settings.BATON_QUARANTINE_RETENTION_DAYS)
    report = PruneReport()
    old = InboundPayload.objects.filter(status=Status.QUARANTINED)
    for attribute, payloads in (
        ("refused", old.filter(verified=False, received_at__lt=refused_before)),
        ("quarantined", old.filter(verified=True, received_at__lt=quarantined_before)),
    ):
        ids = list(payloads.order_by("received_at", "id").values_list("id", flat=True)[:batch])
        if ids:
            InboundPayload.objects.filter(pk__in=ids).delete()
        setattr(report, attribute, len(ids))
        report.more = report.more or len(ids) == batch
    report.counts, _ = RejectedDeliveryCount.objects.filter(day__lt=refused_before.date()).delete()
    return report
