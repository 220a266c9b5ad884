"""Writes of the replies room: compose, approve or reject, deliver (with retries), canned responses
and the sending credentials.

A reply's path: `compose_reply` (the PII guard, the collision check, the approval rule) ->
`approve_reply` where approval is needed -> `deliver_reply` in a Celery task (`dispatch.SEND_REPLY`):
claim it (`sending`), post it through the channel's connector outside any transaction, then record
the outcome: `sent` with the platform's id and the timeline entry (`cases.services.record_sent_reply`,
which stops the reply clocks), or a retry later, or `failed` on the case after the last attempt.

Never posted twice: a message delivered twice finds the reply claimed and sends nothing; a reply whose
worker died while sending stays `sending` until the beat's sweep (`recover_stuck_sending`) puts it back
once, marking that attempt unconfirmed, and the next attempt asks the platform whether it was posted
(`connectors.*.find_sent`: then its id is recorded) before posting. The outcome of an attempt that was
taken for dead but was only slow does not overwrite a later one (and is logged as an error).

Locks: the case (customer, then case, `cases.locks.lock_case`), then the reply row.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from config.errors import BatonError, NotAllowed, TransitionError
from customers import privacy as customer_privacy
from customers.models import Customer
from feedback import dispatch
from feedback.cases import events
from feedback.cases.locks import lock_case
from feedback.cases.models import Case
from feedback.cases.services import record_sent_reply
from feedback.cases.transitions import check_member
from feedback.choices import CaseStatus
from feedback.intake.models import Account, Mention
from feedback.intake.webhooks.crypto import SecretUnavailable
from feedback.replies import pii, templating
from feedback.replies.connectors import CHANNEL_CONNECTOR, CHANNEL_PLATFORM, CONNECTORS, Outgoing, SendFailed
from feedback.replies.models import (
    CannedResponse,
    OutboxMessage,
    Reply,
    ReplyKind,
    ReplyStatus,
    SendingCredential,
)
from feedback.replies.rules import (
    CONSIDERATIONS,
    PRIVATE_CHANNELS,
    approval_reason,
    approver_ids,
    can_approve,
    max_length,
)
from feedback.replies.selectors import activity_since
from feedback.sla import notifications
from feedback.sla.models import Notification
from teams.models import Department, Role
from teams.selectors import role_in

logger = logging.getLogger(__name__)


class PiiBlocked(BatonError):
    """The PII guard refused a public reply; `findings` says what and why."""

    code = "pii"

    def __init__(self, findings: list[pii.Finding]):
        self.findings = findings
        messages = [f"{finding.label} “{finding.text}”: {finding.why}" for finding in findings]
        super().__init__("The reply was not sent: it contains personal data that must not be public.",
                         fields={"text": messages})


class Collision(BatonError):
    """Something newer arrived on the case since the author loaded the page; `newer` lists it."""

    code = "collision"

    def __init__(self, newer: list):
        self.newer = newer
        super().__init__("Something new arrived on this case since you opened it: read it, then send again.")


# --- Composing ----------------------------------------------------------------------------------


def other_customer_names(*, case: Case, author=None):
    """The PII guard's names lookup: which candidate names belong to a customer other than the case's."""
    own = {(case.customer.name or "").strip().lower()}
    if author is not None:
        own.add((author.get_full_name() or "").strip().lower())

    def lookup(candidates: Iterable[str]) -> set[str]:
        wanted = sorted({name.lower() for name in candidates} - own)
        if not wanted:
            return set()
        return set(
            Customer.objects.annotate(lname=Lower("name")).filter(lname__in=wanted).exclude(pk=case.customer_id)
            .values_list("lname", flat=True)
        )

    return lookup


def check_pii(*, case: Case, text: str, author=None) -> list[pii.Finding]:
    return pii.scan(text, names=other_customer_names(case=case, author=author))


def _clean_text(text: str, *, source: str, kind: str) -> str:
    text = (text or "").strip()
    if not text:
        raise TransitionError("A reply needs some text.", code="invalid",
                              fields={"text": ["Write the reply the customer will see."]})
    limit = max_length(source=source, kind=kind)
    if len(text) > limit:
        raise TransitionError(f"The reply is {len(text)} characters long; {source} takes {limit}.", code="invalid",
                              fields={"text": [f"Shorten the reply to {limit} characters (it has {len(text)})."]})
    return text


def newer_activity(*, case: Case, seen_event: int | None, seen_reply: int | None, user) -> list[dict]:
    """What arrived on the case after the page was loaded (`seen_event`: the highest timeline id of a
    post or reply then; `seen_reply`: the highest reply id then): posts, replies and other people's
    replies on their way. Newest first."""
    return activity_since(case=case, seen_event=seen_event, seen_reply=seen_reply, user=user)


def compose_reply(*, case: Case, by, text: str, kind: str = ReplyKind.PUBLIC, in_reply_to: Mention | None = None,
                  considerations: Iterable[str] = (), canned: CannedResponse | None = None,
                  seen_event: int | None = None, seen_reply: int | None = None,
                  now: datetime | None = None) -> Reply:
    """Write a reply to the case's customer and send it (or hold it for approval).

    Refused, before anything is written: an empty or too long text, an unticked consideration, a
    public reply the PII guard blocks (`PiiBlocked`), something newer on the case since the page
    loaded (`Collision`, when `seen_event`/`seen_reply` are given), a closed case, a non-member.
    """
    now = now or timezone.now()
    missing = [label for key, label in CONSIDERATIONS if key not in set(considerations)]
    if missing:
        raise TransitionError("Check the five considerations before sending.", code="invalid",
                              fields={"considerations": [f"Not ticked: {', '.join(missing)}."]})
    if kind not in ReplyKind.values:
        raise TransitionError(f"Unknown kind of reply {kind!r}.", code="invalid", fields={"kind": ["Choose one."]})
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        if case.status == CaseStatus.CLOSED:
            raise TransitionError("This case is closed; open a new case to write to the customer.")
        mention = _mention_for(case=case, mention=in_reply_to)
        source = mention.source if mention else ""
        if kind == ReplyKind.PRIVATE and source not in PRIVATE_CHANNELS:
            raise TransitionError("A private reply is possible on Facebook and Instagram only.", code="invalid",
                                  fields={"kind": ["Send a public reply on this channel."]})
        text = _clean_text(text, source=source, kind=kind)
        if kind == ReplyKind.PUBLIC:
            findings = check_pii(case=case, text=text, author=by)
            if findings:
                raise PiiBlocked(findings)
        if seen_event is not None or seen_reply is not None:
            newer = newer_activity(case=case, seen_event=seen_event, seen_reply=seen_reply, user=by)
            if newer:
                raise Collision(newer)
        reason = approval_reason(case)
        reply = Reply.objects.create(
            case=case, in_reply_to=mention, kind=kind, text=text, author=by, created_at=now,
            considerations=sorted(set(considerations)), canned=canned, approval_reason=reason,
            status=ReplyStatus.AWAITING_APPROVAL if reason else ReplyStatus.QUEUED,
        )
        if reason:
            events.add(events.reply_approval(case=case, reply_id=reply.pk, decision="submitted", reason=reason,
                                             actor=by, now=now))
            notifications.notify_users(
                user_ids=approver_ids(case=case, author_id=by.pk), case=case, kind=Notification.Kind.APPROVAL, now=now,
                text=f"Case #{case.pk}: {_name(by)}'s {reply.get_kind_display().lower()} waits for your approval "
                     f"({reason}) “{_excerpt(text)}”")
        else:
            dispatch.enqueue(dispatch.SEND_REPLY, reply.pk)
    return reply


def _mention_for(*, case: Case, mention: Mention | None) -> Mention | None:
    """The post the reply answers: the one given (it must be on the case), else the latest."""
    if mention is not None:
        if mention.case_id != case.pk:
            raise TransitionError("That post is not on this case.", code="invalid",
                                  fields={"in_reply_to": ["Choose one of the case's posts."]})
        return mention
    return case.mentions.order_by("-posted_at", "-id").first()


def _lock_reply(reply: Reply) -> tuple[Case, Reply]:
    case = lock_case(reply.case_id)
    reply = Reply.objects.select_for_update(of=("self",)).select_related("in_reply_to", "author").get(pk=reply.pk)
    return case, reply


# --- Approval -----------------------------------------------------------------------------------


def approve_reply(*, reply: Reply, by, text: str | None = None, now: datetime | None = None) -> Reply:
    """An approver lets the reply go, as written or edited (`text`; the guard checks the edit)."""
    now = now or timezone.now()
    with transaction.atomic():
        case, reply = _lock_reply(reply)
        if reply.status != ReplyStatus.AWAITING_APPROVAL:
            raise TransitionError(f"This reply is {reply.get_status_display().lower()}, not awaiting approval.")
        if not can_approve(user=by, reply=reply, case=case):
            raise NotAllowed("Only a lead of the case's department (or legal, for press and legal cases) other "
                             "than its author can approve this reply.")
        edited = text is not None and text.strip() != reply.text
        if edited:
            new_text = _clean_text(text, source=reply.in_reply_to.source if reply.in_reply_to else "", kind=reply.kind)
            if reply.kind == ReplyKind.PUBLIC:
                findings = check_pii(case=case, text=new_text, author=reply.author)
                if findings:
                    raise PiiBlocked(findings)
            reply.original_text, reply.text = reply.text, new_text
        reply.status = ReplyStatus.QUEUED
        reply.decided_by, reply.decided_at = by, now
        reply.save(update_fields=["status", "decided_by", "decided_at", "original_text", "text"])
        events.add(events.reply_approval(case=case, reply_id=reply.pk, decision="approved", actor=by, now=now,
                                         edited=edited))
        _decided(case=case, reply=reply, by=by, now=now, kind=Notification.Kind.REPLY_APPROVED,
                 text=f"Case #{case.pk}: {_name(by)} approved your reply{' with edits' if edited else ''}; "
                      f"it is on its way. “{_excerpt(reply.text)}”")
        dispatch.enqueue(dispatch.SEND_REPLY, reply.pk)
    return reply


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "Someone"


def _excerpt(text: str, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _decided(*, case: Case, reply: Reply, by, now: datetime, kind: str, text: str) -> None:
    """After an approver's decision: the author hears it; once no reply of the case waits any more,
    the approvers' requests of the case are settled (read), so nobody else opens a decided reply."""
    if reply.author_id and reply.author_id != by.pk:
        notifications.notify_users(user_ids=[reply.author_id], case=case, kind=kind, text=text, now=now)
    if not Reply.objects.filter(case=case, status=ReplyStatus.AWAITING_APPROVAL).exists():
        notifications.settle_case_notifications(case_id=case.pk, kind=Notification.Kind.APPROVAL, now=now)


def reject_reply(*, reply: Reply, by, reason: str, now: datetime | None = None) -> Reply:
    """An approver stops the reply, saying why (the author reads it on the case)."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise TransitionError("Rejecting a reply needs a reason.", code="invalid",
                              fields={"reason": ["Say what the author should change."]})
    with transaction.atomic():
        case, reply = _lock_reply(reply)
        if reply.status != ReplyStatus.AWAITING_APPROVAL:
            raise TransitionError(f"This reply is {reply.get_status_display().lower()}, not awaiting approval.")
        if not can_approve(user=by, reply=reply, case=case):
            raise NotAllowed("Only a lead of the case's department (or legal, for press and legal cases) other "
                             "than its author can reject this reply.")
        reply.status = ReplyStatus.REJECTED
        reply.decided_by, reply.decided_at, reply.rejection_reason = by, now, reason
        reply.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
        events.add(events.reply_approval(case=case, reply_id=reply.pk, decision="rejected", reason=reason,
                                         actor=by, now=now))
        _decided(case=case, reply=reply, by=by, now=now, kind=Notification.Kind.REPLY_REJECTED,
                 text=f"Case #{case.pk}: {_name(by)} rejected your reply: {reason} (your text: “{_excerpt(reply.text)}”)")
    return reply


# --- Delivery -----------------------------------------------------------------------------------


def _account_for(source: str, *, pk: int | None = None) -> Account | None:
    platform = CHANNEL_PLATFORM.get(source)
    if platform is None or source not in CHANNEL_CONNECTOR:
        return None
    accounts = Account.objects.filter(platform=platform, is_active=True, sending__isnull=False)
    if pk is not None:
        accounts = accounts.filter(pk=pk)
    return accounts.select_related("sending").order_by("pk").first()


def _outgoing(reply: Reply, account: Account | None, token: str) -> Outgoing:
    mention = reply.in_reply_to
    return Outgoing(
        reply_id=reply.pk, case_id=reply.case_id, text=reply.text, kind=reply.kind,
        source=mention.source if mention else "", in_reply_to=mention.external_id if mention else "",
        to_handle=mention.author_handle if mention else "", token=token,
        page_id=account.platform_user_id if account else "",
    )


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the `attempts`-th failed attempt: the base, then twice it, four times..."""
    return timedelta(seconds=settings.BATON_REPLY_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


def deliver_reply(*, reply_id: int, now: datetime | None = None) -> str:
    """Send a queued reply (the task's service). Returns what happened: sent, retrying, failed, or
    skipped (not queued: already sent, sending, rejected... so a repeated message sends nothing).

    After a worker died while sending (`recover_stuck_sending`), the platform is asked first whether
    that attempt posted it (`find_sent`): if so it is recorded with that post's id, and not posted again."""
    claimed = _claim(reply_id=reply_id, now=now)
    if isinstance(claimed, str):
        return claimed
    reply, account, outgoing = claimed
    connector, attempt = CONNECTORS[reply.connector], reply.attempts
    try:
        delivered = connector.find_sent(outgoing) if reply.unconfirmed_attempt else None
        if delivered is None:
            delivered = connector.send(outgoing)
    except SendFailed as exc:
        return _failed(reply_id=reply_id, error=exc.message, retry=exc.retry, now=now, attempt=attempt)
    except Exception as exc:  # noqa: BLE001 - an unexpected connector error is kept on the reply and retried
        return _failed(reply_id=reply_id, error=f"Unexpected error: {exc.__class__.__name__}", retry=True, now=now,
                       attempt=attempt)
    return _sent(reply_id=reply_id, platform_id=delivered.platform_id, url=delivered.url, now=now, attempt=attempt)


def _claim(*, reply_id: int, now: datetime | None):
    now = now or timezone.now()
    with transaction.atomic():
        case_id = Reply.objects.filter(pk=reply_id).values_list("case_id", flat=True).first()
        if case_id is None:
            return "skipped"
        case, reply = _lock_reply(Reply(pk=reply_id, case_id=case_id))
        if reply.status not in (ReplyStatus.QUEUED, ReplyStatus.RETRYING):
            return "skipped"
        source = reply.in_reply_to.source if reply.in_reply_to else ""
        account = _account_for(source)
        if reply.unconfirmed_attempt and reply.account_id and account is not None and account.pk != reply.account_id:
            # Ask (and post as) the account the unconfirmed attempt used, while it can still send.
            account = _account_for(source, pk=reply.account_id) or account
        reply.attempts += 1
        reply.next_attempt_at = None
        if account is None:  # the default connector: the outbox, in this transaction
            reply.connector = "outbox"
            reply.save(update_fields=["connector", "attempts", "next_attempt_at"])
            outbox = OutboxMessage.objects.create(
                reply=reply, case=case, channel=source or "unknown", kind=reply.kind,
                to_handle=reply.in_reply_to.author_handle if reply.in_reply_to else "",
                in_reply_to=reply.in_reply_to.external_id if reply.in_reply_to else "", text=reply.text,
                created_at=now,
            )
            return _sent(reply_id=reply.pk, platform_id=f"outbox-{outbox.pk}", url="", now=now)
        try:
            token = account.sending.token
        except SecretUnavailable as exc:
            reply.save(update_fields=["attempts", "next_attempt_at"])
            return _failed(reply_id=reply.pk, error=f"The sending credential of {account} cannot be read: an "
                                                     f"admin must enter it again ({exc.__class__.__name__}).",
                           retry=False, now=now)
        reply.connector = CHANNEL_CONNECTOR[source]
        reply.account = account
        reply.status, reply.attempt_started_at = ReplyStatus.SENDING, now
        reply.save(update_fields=["connector", "account", "status", "attempts", "next_attempt_at",
                                  "attempt_started_at"])
        return reply, account, _outgoing(reply, account, token)


def _stale(reply: Reply, attempt: int | None) -> bool:
    """The outcome of `attempt` comes after the reply moved on (its worker was taken for dead and another
    attempt started, or the reply was decided otherwise): it no longer decides the reply."""
    return attempt is not None and (reply.status != ReplyStatus.SENDING or reply.attempts != attempt)


def _sent(*, reply_id: int, platform_id: str, url: str, now: datetime | None, attempt: int | None = None) -> str:
    """Record the platform's post. `attempt`: the attempt that posted it (None: the outbox, in the claim)."""
    now = now or timezone.now()
    with transaction.atomic():
        case, reply = _lock_reply(Reply(pk=reply_id, case_id=Reply.objects.values_list("case_id", flat=True)
                                        .get(pk=reply_id)))
        if _stale(reply, attempt):
            # A worker taken for dead was only slow: its post is real. A second post is said loudly, never silent.
            if reply.status == ReplyStatus.SENT:
                logger.error("Reply %s was posted twice: attempt %s (platform id %s) after attempt %s (platform "
                             "id %s); delete one on the platform.", reply.pk, attempt, platform_id, reply.attempts,
                             reply.platform_id)
                return "skipped"
            if reply.status == ReplyStatus.SENDING:
                logger.error("Reply %s: attempt %s posted it (platform id %s) while attempt %s is sending: check "
                             "the platform for a second post.", reply.pk, attempt, platform_id, reply.attempts)
            else:
                logger.warning("Reply %s: attempt %s, taken for dead, posted it after all (platform id %s): "
                               "recorded; the retry queued meanwhile sends nothing.", reply.pk, attempt, platform_id)
        reply.status = ReplyStatus.SENT
        reply.platform_id, reply.platform_url, reply.sent_at, reply.last_error = platform_id, url, now, ""
        reply.attempt_started_at = reply.unconfirmed_attempt = None
        reply.save(update_fields=["status", "platform_id", "platform_url", "sent_at", "last_error",
                                  "attempt_started_at", "unconfirmed_attempt"])
        source = reply.in_reply_to.source if reply.in_reply_to else ""
        record_sent_reply(case_id=case.pk, author=reply.author, text=reply.text, now=now, delivery=events.Delivery(
            reply_id=reply.pk, connector=reply.connector, source=source, platform_id=platform_id, url=url,
            kind=reply.kind,
        ))
    return "sent"


def _failed(*, reply_id: int, error: str, retry: bool, now: datetime | None, attempt: int | None = None) -> str:
    now = now or timezone.now()
    with transaction.atomic():
        case, reply = _lock_reply(Reply(pk=reply_id, case_id=Reply.objects.values_list("case_id", flat=True)
                                        .get(pk=reply_id)))
        if _stale(reply, attempt):
            return "skipped"
        if reply.unconfirmed_attempt:
            error = (f"{error} (Attempt {reply.unconfirmed_attempt} stopped while sending and may have been posted: "
                     "check the platform before sending again.)")
        reply.last_error = error[:2000]
        reply.attempt_started_at = None
        if retry and reply.attempts < settings.BATON_REPLY_SEND_ATTEMPTS:
            delay = retry_delay(reply.attempts)
            reply.status, reply.next_attempt_at = ReplyStatus.RETRYING, now + delay
            reply.save(update_fields=["status", "next_attempt_at", "last_error", "attempt_started_at"])
            dispatch.enqueue(dispatch.SEND_REPLY, reply.pk, countdown=delay.total_seconds())
            return "retrying"
        reply.status = ReplyStatus.FAILED
        reply.save(update_fields=["status", "last_error", "attempt_started_at"])
        events.add(events.send_failed(case=case, reply_id=reply.pk, error=error, attempts=reply.attempts, now=now))
    return "failed"


def resend_reply(*, reply: Reply, by, now: datetime | None = None) -> Reply:
    """A member sends a failed reply again (after fixing the account, say): a new round of attempts."""
    with transaction.atomic():
        case, reply = _lock_reply(reply)
        check_member(user=by, case=case)
        if reply.status != ReplyStatus.FAILED:
            raise TransitionError(f"This reply is {reply.get_status_display().lower()}; only a failed one is resent.")
        # A person sends it again knowingly: an unconfirmed attempt they checked is not asked about again.
        reply.status, reply.attempts, reply.next_attempt_at = ReplyStatus.QUEUED, 0, None
        reply.unconfirmed_attempt = None
        reply.save(update_fields=["status", "attempts", "next_attempt_at", "unconfirmed_attempt"])
        dispatch.enqueue(dispatch.SEND_REPLY, reply.pk)
    return reply


def stuck_reply_ids(*, older_than: datetime, limit: int = 500) -> list[int]:
    """Queued or retrying replies whose message was lost (broker down): the recovery re-enqueues them."""
    return list(
        Reply.objects.filter(Q(status=ReplyStatus.QUEUED, created_at__lt=older_than)
                             | Q(status=ReplyStatus.RETRYING, next_attempt_at__lt=older_than))
        .order_by("pk").values_list("pk", flat=True)[:limit]
    )


def enqueue_send(reply_id: int) -> None:
    dispatch.enqueue(dispatch.SEND_REPLY, reply_id)


def recover_stuck_sending(*, now: datetime | None = None, timeout: timedelta | None = None,
                          limit: int = 500) -> list[int]:
    """The beat's sweep: replies still `sending` BATON_REPLY_SENDING_TIMEOUT after their attempt started lost
    their worker (killed mid-send: the task's message is acknowledged late, but a redelivered one finds the reply
    `sending` and skips it). Each goes back to `retrying` with that attempt marked unconfirmed, and its send is
    enqueued once: the rows are taken with SKIP LOCKED, so two sweeps never take the same, and the status change
    commits with the message, so the next sweep does not take it again. The send asks the platform whether the
    unconfirmed attempt posted it before posting (`deliver_reply`). Returns the ids."""
    now = now or timezone.now()
    timeout = timeout if timeout is not None else timedelta(seconds=settings.BATON_REPLY_SENDING_TIMEOUT)
    with transaction.atomic():
        stuck = list(Reply.objects.select_for_update(skip_locked=True)
                     .filter(status=ReplyStatus.SENDING, attempt_started_at__lt=now - timeout)
                     .order_by("pk")[:limit])
        for reply in stuck:
            reply.status, reply.next_attempt_at = ReplyStatus.RETRYING, now
            reply.unconfirmed_attempt = reply.unconfirmed_attempt or reply.attempts
            reply.last_error = (f"Attempt {reply.attempts} stopped while sending (its worker stopped): the platform "
                                "is asked whether it was posted before it is sent again.")
        Reply.objects.bulk_update(stuck, ["status", "next_attempt_at", "unconfirmed_attempt", "last_error"])
        dispatch.enqueue_many([(dispatch.SEND_REPLY, [reply.pk]) for reply in stuck])
    return [reply.pk for reply in stuck]


# --- Erasure ------------------------------------------------------------------------------------


def erase_customer_data(*, customer: Customer, placeholder: str = "[erased]") -> dict[str, int]:
    """The replies room's part of erasing a person (`feedback.linking.services.erase_customer` calls it in its
    transaction, after locking the customers): the text of every reply to them (the brand's words may quote or
    name them), the author's original and an approver's reason, send errors, and the outbox's copies with the
    handle and post id they went to. Replies to this person's posts or cases (the record and those merged into
    it). A reply not sent yet never goes out: it is stopped as rejected, saying why. Returns the counts."""
    ids = customer_privacy.record_ids(customer=customer)
    replies = Reply.objects.filter(Q(case__customer_id__in=ids) | Q(in_reply_to__customer_id__in=ids))
    with transaction.atomic():
        stopped = replies.filter(status__in=[ReplyStatus.AWAITING_APPROVAL, ReplyStatus.QUEUED,
                                             ReplyStatus.RETRYING]).update(
            status=ReplyStatus.REJECTED, next_attempt_at=None,
            rejection_reason="Not sent: the customer's personal data was erased.")
        erased = replies.update(text=placeholder, original_text="", last_error="")
        rejected = replies.filter(status=ReplyStatus.REJECTED).exclude(
            rejection_reason="Not sent: the customer's personal data was erased.").update(rejection_reason=placeholder)
        outbox = OutboxMessage.objects.filter(Q(case__customer_id__in=ids) | Q(reply__in=replies)).update(
            text=placeholder, to_handle="", in_reply_to="")
    return {"replies": erased, "replies_stopped": stopped, "rejection_reasons": rejected, "outbox_messages": outbox}


# --- Canned responses and credentials ------------------------------------------------------------


def can_manage_canned(*, user, department_id: int) -> bool:
    return user.is_superuser or role_in(user=user, department_id=department_id) in (Role.LEAD, Role.HEAD)


def save_canned(*, canned: CannedResponse, by) -> CannedResponse:
    """Create or change a canned response: leads and heads of its department."""
    if not can_manage_canned(user=by, department_id=canned.department_id):
        raise NotAllowed("Only a lead or head of the department manages its canned responses.")
    unknown = templating.unknown_fields(canned.text)
    if unknown:
        raise TransitionError("Unknown field in the text.", code="invalid", fields={"text": [
            f"Unknown: {', '.join(unknown)}. Use {', '.join('{{ ' + name + ' }}' for name in templating.FIELDS)}."]})
    canned.updated_by = by
    canned.save()
    return canned


def delete_canned(*, canned: CannedResponse, by) -> None:
    if not can_manage_canned(user=by, department_id=canned.department_id):
        raise NotAllowed("Only a lead or head of the department manages its canned responses.")
    canned.delete()


def set_sending_token(*, account: Account, token: str) -> SendingCredential:
    """Store (encrypted) the token the account's connector posts with; an empty token removes it."""
    token = (token or "").strip()
    if not token:
        SendingCredential.objects.filter(account=account).delete()
        return None
    credential = SendingCredential.objects.filter(account=account).first() or SendingCredential(account=account)
    credential.set_token(token)
    credential.save()
    return credential


# Canned responses a fresh install (and the demo) starts with: (department slug, assessment, title, text).
DEFAULT_CANNED = [
    ("service", "rectify", "Sorry, we are on it",
     "Hi {{ first_name }}, I'm {{ agent_first_name }} from {{ department }}. I'm sorry about this: please send us "
     "your booking details by private message and I will sort it out personally."),
    ("service", "fix_facts", "The facts",
     "Hi {{ first_name }}, {{ agent_first_name }} from {{ department }} here. To clear this up: [the facts]. "
     "Our policy is here: [link]."),
    ("service", "", "Thanks for reaching out",
     "Thanks for reaching out, {{ first_name }}! I'm {{ agent_first_name }} from {{ department }}; how can I help?"),
    ("after-sales", "rectify", "Claim started",
     "Hi {{ first_name }}, {{ agent_first_name }} from {{ department }}. I've started your claim (case "
     "{{ case_id }}); we will message you privately for the details."),
    ("sales", "", "Happy to help you book",
     "Hi {{ first_name }}, I'm {{ agent_first_name }} from {{ department }}. Happy to help: I'll send you the "
     "options by private message."),
    ("marketing", "concur", "Thank you",
     "Thank you so much, {{ first_name }}! We'll pass this on to the crew. ({{ agent_first_name }}, {{ department }})"),
    ("marketing", "", "Press: statement follows",
     "Hi {{ first_name }}, thanks for getting in touch. Our media team will follow up with you by private message."),
]


def ensure_default_canned() -> int:
    """Create the default canned responses a department does not have yet (by title). Returns how many."""
    departments = dict(Department.objects.values_list("slug", "pk"))
    existing = set(CannedResponse.objects.values_list("department_id", "title"))
    missing = [
        CannedResponse(department_id=departments[slug], assessment=assessment, title=title, text=text)
        for slug, assessment, title, text in DEFAULT_CANNED
        if slug in departments and (departments[slug], title) not in existing
    ]
    CannedResponse.objects.bulk_create(missing)
    return len(missing)
