"""Webhook endpoints. The signature is the authentication: no session, no CSRF.

A POST is verified, stored as an InboundPayload and its parse enqueued after commit; nothing
else happens before the answer (X wants one within 3 seconds). See `services.accept_delivery`.
"""

import hmac
import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from feedback.intake.models import InboundPayload

from . import services
from .crypto import SecretUnavailable
from .signatures import x_crc_response

logger = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "fields": {}}, status=status)


def _receive(request, channel: services.Channel, account: str) -> JsonResponse:
    body = services.read_body(request, content_length=request.META.get("CONTENT_LENGTH"),
                              limit=settings.BATON_WEBHOOK_MAX_BYTES)
    verdict = services.accept_delivery(
        channel=channel, account_ref=account, headers=services.request_headers(request.headers),
        content_type=request.META.get("CONTENT_TYPE", ""), body=body,
    )
    if verdict.status != 200:
        return _error(verdict.status, verdict.code, verdict.message)
    return JsonResponse({"code": verdict.code, "message": verdict.message, "id": verdict.payload.pk})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def x_webhook(request, account: str):
    """X Account Activity API: GET is the CRC check, POST an activity delivery."""
    channel = services.CHANNELS[InboundPayload.Channel.X]
    if request.method == "POST":
        return _receive(request, channel, account)
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
@require_http_methods(["GET", "POST"])
def meta_webhook(request, account: str):
    """Meta Graph API webhooks: GET is the subscription verification, POST a change notification."""
    channel = services.CHANNELS[InboundPayload.Channel.META]
    if request.method == "POST":
        return _receive(request, channel, account)
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
        return _error(403, "verification_failed", "hub.mode must be subscribe and hub.verify_token must match.")
    return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
