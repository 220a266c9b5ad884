"""The customer pages: the list (search) and the customer 360 page. Actions that also move
feedback's rows (merge, confirm a suggestion, export, erase) post to `feedback.linking.views`."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render

from config.query import int_param
from teams.models import Department

from . import selectors
from .models import Stage, TimelineKind


def _require_viewer(request) -> None:
    if not selectors.can_view_customers(user=request.user):
        raise PermissionDenied("Customer records are for department members.")


@login_required
def customer_list(request):
    _require_viewer(request)
    query = request.GET.get("q", "")[:200].replace("\x00", "")  # PostgreSQL text never holds NUL
    stage = request.GET.get("stage", "")
    stage = stage if stage in Stage.values else ""
    page = selectors.search_customers(user=request.user, query=query, stage=stage,
                                      page=int_param(request, "page") or 1)
    return render(request, "customers/customer_list.html", {
        "page": page, "customers": page.object_list, "q": query, "stage": stage, "stages": Stage.choices,
    })


@login_required
def customer_detail(request, customer_id):
    _require_viewer(request)
    customer = selectors.customer_profile(user=request.user, customer_id=customer_id)
    if customer is None:
        raise Http404("No such customer.")
    kind = request.GET.get("kind", "")
    kind = kind if kind in TimelineKind.values else ""
    department_id = int_param(request, "department")
    page = selectors.timeline_page(customer_id=customer.pk, kind=kind, department_id=department_id,
                                   page=int_param(request, "page") or 1)
    user = request.user
    return render(request, "customers/customer_detail.html", {
        "customer": customer,
        "identities": selectors.identities_of(customer=customer),
        "page": page, "entries": page.object_list,
        "kind": kind, "kinds": TimelineKind.choices,
        "department_id": department_id, "departments": Department.objects.order_by("name"),
        **selectors.suggestions_about(customer_id=customer.pk),
        "is_admin": user.is_staff or user.is_superuser,
    })
