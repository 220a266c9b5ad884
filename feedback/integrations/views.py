"""Administrators' pages for integrations: API tokens (made, shown once, revoked) and the outbound
webhooks' delivery log with a redeliver button."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.query import choice_param, int_param, parse_int
from customers.webhooks import services as webhooks
from customers.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from customers.webhooks.selectors import delivery_log
from feedback.integrations import services
from feedback.integrations.forms import TokenForm
from feedback.integrations.models import ApiToken


def _admin_only(request) -> None:
    if not services.may_manage_tokens(request.user):
        raise PermissionDenied("Only administrators manage integrations.")


@login_required
def token_list(request):
    _admin_only(request)
    new_key = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, new_key = services.create_token(
            name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], by=request.user,
            rate_per_minute=form.cleaned_data["rate_per_minute"])
        messages.success(request, f"Token “{token.name}” made. Copy its key now: it is not shown again.")
        form = TokenForm()
    tokens = ApiToken.objects.select_related("created_by", "revoked_by").order_by("-created_at", "-id")
    return render(request, "feedback/integrations_tokens.html", {"form": form, "tokens": tokens, "new_key": new_key})


@login_required
@require_POST
def token_revoke(request, token_id: str):
    _admin_only(request)
    token = get_object_or_404(ApiToken, pk=parse_int(token_id) or 0)
    services.revoke_token(token_id=token.pk, by=request.user)
    messages.success(request, f"Token “{token.name}” revoked: it is refused from now on.")
    return redirect("integration-tokens")


@login_required
def delivery_list(request):
    _admin_only(request)
    subscription_id = int_param(request, "subscription")
    status = choice_param(request, "status", DeliveryStatus.values)
    page = Paginator(delivery_log(subscription_id=subscription_id, status=status), 50).get_page(
        int_param(request, "page") or 1)
    return render(request, "feedback/integrations_deliveries.html", {
        "page": page, "subscriptions": WebhookSubscription.objects.order_by("id"),
        "statuses": DeliveryStatus.choices, "chosen_subscription": subscription_id, "chosen_status": status,
    })


@login_required
@require_POST
def delivery_redeliver(request, delivery_id: str):
    _admin_only(request)
    delivery = get_object_or_404(WebhookDelivery, pk=parse_int(delivery_id) or 0)
    webhooks.redeliver(delivery_id=delivery.pk)
    messages.success(request, f"Delivery {delivery.pk} queued again.")
    return redirect("integration-deliveries")
