"""Webhook writes: accept a delivery (verify, store, enqueue), parse a stored payload, replay quarantine.

Exactly once, nothing lost:
- every POST that reaches a webhook view becomes one `InboundPayload` row, verified or not;
- the view only verifies and stores; the parse runs in a task by payload id, after commit;
- the parse locks the payload row and skips a processed one, and mentions go through
  `store_mentions` (unique source + external_id), so a duplicate task, a platform retry or a
  replay stores nothing twice; edits, removals and brand replies are idempotent as well;
- a payload that cannot be parsed is quarantined with its reason and replayed after a fix.
"""

import hashlib
import json
import logging
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from feedback import dispatch
from feedback.cases.services import record_channel_reply
from feedback.choices import MentionStatus
from feedback.intake.ingest import store_mentions
from feedback.intake.models import Account, AccountPlatform, InboundPayload, Mention

from . import meta, x
from .crypto import SecretUnavailable
from .events import BrandReply, EditMention, Ignored, NewMention, RemoveMention, UnknownShape
from .signatures import META_SIGNATURE_HEADER, X_SIGNATURE_HEADER, verify_meta, verify_x

logger = logging.getLogger(__name__)

Status = InboundPayload.Status
Reason = InboundPayload.Reason

READ_CHUNK = 64 * 1024
KEEP_BYTES = 64 * 1024  # of a body over the limit, the part that is kept for inspection
MAX_PARSE_ATTEMPTS = 12  # a payload waiting for a mention's processing is quarantined after this many tries
DROPPED_HEADERS = {"cookie", "authorization", "proxy-authorization"}


@dataclass(frozen=True)
class Channel:
    name: str
    platforms: tuple[str, ...]
    signature_header: str
    verify: Callable[[str, bytes, str], bool]


CHANNELS = {
    InboundPayload.Channel.X: Channel(InboundPayload.Channel.X, (AccountPlatform.X,), X_SIGNATURE_HEADER, verify_x),
    InboundPayload.Channel.META: Channel(
        InboundPayload.Channel.META, (AccountPlatform.FACEBOOK, AccountPlatform.INSTAGRAM),
        META_SIGNATURE_HEADER, verify_meta,
    ),
}


@dataclass(frozen=True)
class Body:
    data: bytes
    size: int  # as announced by Content-Length, or as read
    truncated: bool


@dataclass(frozen=True)
class Verdict:
    """What the view answers the platform."""

    status: int
    code: str
    message: str
    payload: InboundPayload


@dataclass
class ParseOutcome:
    payload_id: int
    status: str
    reason: str = ""
    counts: dict = field(default_factory=dict)
    waiting: bool = False


# --- Receiving ------------------------------------------------------------------


def find_account(*, channel: Channel, ref: str) -> Account | None:
    return Account.objects.filter(slug=ref, platform__in=channel.platforms, is_active=True).first()


def read_body(stream, *, content_length: str | None, limit: int) -> Body:
    """Read at most `limit` bytes in chunks: an oversized body is never held in memory whole.

    Reads from the request stream, not `request.body`, so DATA_UPLOAD_MAX_MEMORY_SIZE does not apply.
    """
    try:
        announced = max(int(content_length or 0), 0)
    except ValueError:
        announced = 0
    if announced > limit:
        return Body(data=stream.read(KEEP_BYTES), size=announced, truncated=True)
    chunks, total = [], 0
    while chunk := stream.read(READ_CHUNK):
        total += len(chunk)
        if total > limit:  # no (or a wrong) Content-Length: stop reading here
            kept = b"".join(chunks)[:KEEP_BYTES]
            return Body(data=kept + chunk[: max(KEEP_BYTES - len(kept), 0)], size=total, truncated=True)
        chunks.append(chunk)
    return Body(data=b"".join(chunks), size=total, truncated=False)


def request_headers(headers) -> dict[str, str]:
    """The headers worth keeping with a payload (credentials and cookies dropped)."""
    return {name: value for name, value in headers.items() if name.lower() not in DROPPED_HEADERS}


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


def enqueue_parse(payload_id: int) -> None:
    """Parse the payload in a task, after the current transaction commits (at once outside one)."""
    # No publish retries: the platform wants an answer within seconds, and a payload whose
    # message was lost stays `received` until `recover_inbound_payloads` enqueues it again.
    dispatch.enqueue(dispatch.PARSE_INBOUND_PAYLOAD, payload_id, retry=False)


def accept_delivery(*, channel: Channel, account_ref: str, headers: dict, content_type: str,
                    body: Body) -> Verdict:
    """Verify one POST and store it: received (parse enqueued after commit) or quarantined."""
    account = find_account(channel=channel, ref=account_ref)
    stored = {"channel": channel, "account": account, "account_ref": account_ref, "headers": headers,
              "content_type": content_type, "body": body}

    def reject(status: int, reason: str, message: str, detail: str) -> Verdict:
        payload = _store(**stored, status=Status.QUARANTINED, verified=False, reason=reason, detail=detail)
        logger.warning("Quarantined %s webhook payload #%s (account %r): %s", channel.name, payload.pk,
                       account_ref[:100], reason)
        return Verdict(status, reason, message, payload)

    if account is None:
        return reject(404, Reason.UNKNOWN_ACCOUNT, "No such account.",
                      f"No active {channel.name} account with slug {account_ref[:100]!r}.")
    if body.truncated:
        return reject(413, Reason.TOO_LARGE, "The body is too large.",
                      f"{body.size} bytes; the limit (BATON_WEBHOOK_MAX_BYTES) is {settings.BATON_WEBHOOK_MAX_BYTES}. "
                      f"The first {len(body.data)} bytes are kept.")
    signature = _header(headers, channel.signature_header)
    if not signature:
        return reject(401, Reason.MISSING_SIGNATURE, "The signature header is missing.",
                      f"No {channel.signature_header} header.")
    try:
        secret = account.secret
    except SecretUnavailable as exc:
        logger.error("Webhook account %s cannot verify deliveries: %s", account.slug, exc)
        return reject(503, Reason.ACCOUNT_MISCONFIGURED, "The account cannot verify deliveries yet.", str(exc))
    if not channel.verify(secret, body.data, signature):
        return reject(403, Reason.BAD_SIGNATURE, "The signature does not match.",
                      f"{channel.signature_header} does not match the body signed with the secret of {account.slug}.")

    with transaction.atomic():
        payload = _store(**stored, status=Status.RECEIVED, verified=True)
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
        counts, waiting = Counter(), []
        if failure is None:
            try:
                with transaction.atomic():  # a savepoint: an error undoes this payload's effects only
                    counts, waiting = _apply(events, payload)
            except Exception as exc:  # noqa: BLE001 - a bad payload must never crash the worker
                logger.exception("Parsing webhook payload %s failed", payload.pk)
                failure = (Reason.PARSE_ERROR, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")

        payload.result = dict(counts)
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
        return Reason.TOO_LARGE, f"Only the first {len(payload.body)} of {payload.body_size} bytes were kept."
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
        return None, json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return (Reason.INVALID_JSON, f"The body is not UTF-8: {exc}"), None
    except json.JSONDecodeError as exc:
        return (Reason.INVALID_JSON,
                f"{exc.msg} at line {exc.lineno} column {exc.colno} (body of {len(body)} bytes)."), None


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
    return {**item, "raw": {**item.get("raw", {}), "inbound_payload_id": payload.pk},
            "received_at": payload.received_at}


def _apply(events: list, payload: InboundPayload) -> tuple[Counter, list[int]]:
    counts: Counter = Counter()
    waiting: list[int] = []
    new = [event for event in events if isinstance(event, NewMention)]
    if new:
        outcome = store_mentions([_with_origin(event.item, payload) for event in new])
        for (mention_id, created), event in zip(outcome, new, strict=True):
            counts["mentions_created" if created else "mentions_duplicate"] += 1
            if created and event.parent_external_id:
                Mention.objects.filter(pk=mention_id).update(parent_external_id=event.parent_external_id[:200])
    for event in events:
        if isinstance(event, EditMention):
            counts[_edit(event, payload)] += 1
        elif isinstance(event, RemoveMention):
            removed = Mention.objects.filter(
                source=event.source, external_id=event.external_id, removed_at__isnull=True
            ).update(removed_at=event.removed_at or timezone.now())
            counts["mentions_removed" if removed else "removals_unknown_or_repeated"] += 1
        elif isinstance(event, BrandReply):
            outcome, waiting_on = _brand_reply(event, payload)
            counts[outcome] += 1
            if waiting_on:
                waiting.append(waiting_on)
        elif isinstance(event, Ignored):
            counts[f"ignored:{event.kind}"] += 1
    return counts, waiting


def _edit(event: EditMention, payload: InboundPayload) -> str:
    def locked():
        return Mention.objects.select_for_update().filter(source=event.source, external_id=event.external_id).first()

    mention = locked()
    if mention is None:  # the edit arrived before (or without) the original
        [(mention_id, created)] = store_mentions([_with_origin(event.item, payload)])
        if created:
            Mention.objects.filter(pk=mention_id).update(
                edited_at=event.edited_at, parent_external_id=event.parent_external_id[:200]
            )
            return "edits_stored_as_new"
        mention = locked()
    if mention.text == event.text:
        return "edits_unchanged"
    raw = dict(mention.raw or {})
    raw["history"] = [*(raw.get("history") or []), {
        "text": mention.text, "replaced_at": event.edited_at.isoformat(), "inbound_payload_id": payload.pk,
    }]
    mention.text, mention.raw, mention.edited_at = event.text, raw, event.edited_at
    mention.save(update_fields=["text", "raw", "edited_at"])
    return "mentions_edited"


def _brand_reply(event: BrandReply, payload: InboundPayload) -> tuple[str, int | None]:
    """Record the brand's own post answering a mention as a reply on that mention's case."""
    parent = Mention.objects.filter(source=event.source, external_id=event.in_reply_to).first()
    if parent is None:
        return "replies_to_unknown_posts", None
    if parent.case_id is None:
        if parent.status == MentionStatus.PROCESSED:
            return "replies_to_mentions_without_case", None
        return "replies_waiting", parent.pk  # the mention is not processed yet: try again later
    return _record_brand_reply(case_id=parent.case_id, event=event, payload=payload), None


def _record_brand_reply(*, case_id: int, event: BrandReply, payload: InboundPayload) -> str:
    recorded = record_channel_reply(case_id=case_id, text=event.text.strip() or "(no text: media only)",
                                    posted_at=event.posted_at, source=event.source, external_id=event.external_id,
                                    in_reply_to=event.in_reply_to, url=event.url, inbound_payload_id=payload.pk)
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
