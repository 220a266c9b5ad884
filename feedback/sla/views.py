"""The notification list (the bell in the top bar links here): read them, mark them read."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from config.query import int_list
from feedback.sla import notifications
from feedback.sla.models import Notification


@login_required
def notification_list(request):
    if request.method == "POST":
        if request.POST.get("all"):
            notifications.mark_read(user=request.user)
        else:
            ids = int_list(request.POST.getlist("id"))
            notifications.mark_read(user=request.user, ids=ids)
        return redirect("notifications")
    page = Paginator(
        Notification.objects.filter(user=request.user).select_related("case").order_by("-created_at", "-id"), 50
    ).get_page(request.GET.get("page"))
    return render(request, "feedback/notification_list.html", {"page": page})
