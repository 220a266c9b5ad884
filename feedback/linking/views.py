"""Actions on customer records that move feedback's rows too (the customer pages post here)."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from config.errors import BatonError
from customers.models import Customer, MatchSuggestion
from customers.selectors import can_view_customers, visible_customers
from feedback.linking import services
from feedback.linking.forms import EraseForm, MergeForm


def _customer(request, customer_id: int) -> Customer:
    if not can_view_customers(user=request.user):
        raise PermissionDenied("Customer records are for department members.")
    customer = visible_customers(user=request.user).filter(pk=customer_id).first()
    if customer is None:
        raise Http404("No such customer.")
    return customer


def _back(request, fallback: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@login_required
@require_POST
def customer_merge(request, customer_id):
    customer = _customer(request, customer_id)
    form = MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return redirect("customer-detail", customer.pk)
    other = visible_customers(user=request.user).filter(pk=form.cleaned_data["other"]).first()
    if other is None:
        messages.error(request, f"There is no record #{form.cleaned_data['other']}.")
        return redirect("customer-detail", customer.pk)
    try:
        services.merge_customers(survivor=customer, merged=other, by=request.user)
    except BatonError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Record #{other.pk} was merged into this one.")
    return redirect("customer-detail", customer.pk)


@login_required
@require_POST
def customer_export(request, customer_id):
    customer = _customer(request, customer_id)
    try:
        data = services.export_customer(customer=customer, by=request.user)
    except BatonError as exc:
        raise PermissionDenied(exc.message) from exc
    response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@login_required
@require_POST
def customer_erase(request, customer_id):
    customer = _customer(request, customer_id)
    form = EraseForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return redirect("customer-detail", customer.pk)
    try:
        counts = services.erase_customer(customer=customer, by=request.user)
    except BatonError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The person's data was erased ({counts.get('mentions', 0)} mentions, "
                                  f"{counts.get('cases', 0)} cases); the audit log keeps the fact.")
    return redirect("customer-detail", customer.pk)


@login_required
@require_POST
def suggestion_decide(request, suggestion_id, decision):
    suggestion = MatchSuggestion.objects.filter(pk=suggestion_id).first()
    if suggestion is None or decision not in ("confirm", "reject"):
        raise Http404("No such suggestion.")
    fallback = reverse("customer-detail", args=[suggestion.prospect_id])
    try:
        if decision == "confirm":
            survivor = services.confirm_suggestion(suggestion_id=suggestion.pk, by=request.user)
            messages.success(request, f"Linked: this author is {survivor}.")
            fallback = reverse("customer-detail", args=[survivor.pk])
        else:
            services.reject_suggestion(suggestion_id=suggestion.pk, by=request.user)
            messages.success(request, "Rejected: this pair will not be suggested again.")
    except BatonError as exc:
        if exc.code == "not_allowed":
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    return _back(request, fallback)
