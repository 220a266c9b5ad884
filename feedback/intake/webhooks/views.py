"""Webhook endpoints. The signature is the authentication: no session, no CSRF.

A POST is checked (rate, account, signature, size) before its body is stored; a delivery that verifies is
stored as an InboundPayload and its parse enqueued after commit; nothing else happens before the answer (X
wants one within 3 seconds). See `services.accept_delivery`.
"""

import hmac
import logging
from functools import wraps

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from config.ratelimit import client_ip
from feedback.intake.models import InboundPayload

from . import services
from .crypto import SecretUnavailable
from .signatures import x_crc_response

logger = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "fields": {}}, status=status)


def _refusal(verdict: services.Verdict) -> JsonResponse:
    """A refusal in the error shape, with Retry-After for a 429."""
    response = _error(verdict.status, verdict.code, verdict.message)
    if verdict.retry_after:
        response["Retry-After"] = str(verdict.retry_after)
    return response


def _receive(request, channel: services.Channel, account: str) -> JsonResponse:
    """Checks before the body is stored (services.accept_delivery); a refused body is read no further than
    needed, then what is left of it (within the channel's limit) is dropped, so the client gets the answer."""
    stream = services.request_stream(request)
    content_length = request.META.get("CONTENT_LENGTH")
    if stream is None:
        return _error(411, "length_required", "This server cannot read a chunked body: send a Content-Length.")
    verdict = services.accept_delivery(
        channel=channel, account_ref=account, headers=services.request_headers(request.headers),
        content_type=request.META.get("CONTENT_TYPE", ""), stream=stream, content_length=content_length,
        client=client_ip(request),
    )
    if verdict.status == 200:
        return JsonResponse({"code": verdict.code, "message": verdict.message, "id": verdict.payload.pk})
    response = _refusal(verdict)
    services.discard_rest(stream, content_length=content_length, budget=channel.max_bytes)
    return response


def _get_or_post(view):
    """GET and POST only; any other method is 405 in the error shape (with Allow)."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        if request.method not in ("GET", "POST"):
            response = _error(405, "method_not_allowed", f"Method {request.method[:20]!r} is not allowed.")
            response["Allow"] = "GET, POST"
            return response
        return view(request, *args, **kwargs)

    return checked


@csrf_exempt
@_get_or_post
def x_webhook(request, account: str):
    """X Account Activity API: GET is the CRC check, POST an activity delivery."""
    channel = services.CHANNELS[InboundPayload.Channel.X]
    if request.method == "POST":
        return _receive(request, channel, account)
    limited = services.address_limited(client_ip(request))
    if limited is not None:
        return _refusal(limited)
    found = services.find_account(channel=channel, ref=account)
    if found is None:
        return _error(404, "unknown_account", "No such account.")
    crc_token = request.GET.get("crc_token", "")
    if not crc_token:
        return _error(400, "missing_crc_token", "A CRC check needs the crc_token query parameter.")
    try:
        secret = found.secret
    except SecretUnavailable as exc:
        logger.error("CRC check for %s failed: %s", found.slug, exc)
        return _error(503, "account_misconfigured", "The account has no usable consumer secret.")
    return JsonResponse(x_crc_response(secret, crc_token))


@csrf_exempt
@_get_or_post
def meta_webhook(request, account: str):
    """Meta Graph API webhooks: GET is the subscription verification, POST a change notification."""
    channel = services.CHANNELS[InboundPayload.Channel.META]
    if request.method == "POST":
        return _receive(request, channel, account)
    limited = services.address_limited(client_ip(request))
    if limited is not None:
        return _refusal(limited)
    found = services.find_account(channel=channel, ref=account)
    if found is None:
        return _error(404, "unknown_account", "No such account.")
    try:
        expected = found.verify_token
    except SecretUnavailable as exc:
        logger.error("Meta verification for %s failed: %s", found.slug, exc)
        return _error(503, "account_misconfigured", "The account has no usable verify token.")
    offered = request.GET.get("hub.verify_token", "")
    if request.GET.get("hub.mode") != "subscribe" or not hmac.compare_digest(offered.encode(), expected.encode()):
        services.count_refused_address(client_ip(request))  # a guessed verify token counts as a refusal
        return _error(403, "verification_failed", "hub.mode must be subscribe and hub.verify_token must match.")
    return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
