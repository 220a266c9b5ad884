"""The notifications (the bell in the top bar links here), grouped by case and kind, and the
personal settings page (away status, notification e-mails)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from config.query import int_list, parse_int
from feedback.sla import notifications
from feedback.sla.forms import NotificationFilterForm, PersonalSettingsForm
from feedback.sla.models import Notification
from teams.selectors import is_away
from teams.services import set_away

GROUPS_PER_PAGE = 30


def _group(value: str) -> tuple[int | None, str] | None:
    """"<case id>:<kind>" (or ":<kind>" for notifications without a case) from the mark-read form."""
    case, _, kind = (value or "").partition(":")
    if kind not in Notification.Kind.values:
        return None
    return parse_int(case), kind


@login_required
def notification_list(request):
    if request.method == "POST":
        if request.POST.get("all"):
            notifications.mark_read(user=request.user)
        elif request.POST.get("group"):
            group = _group(request.POST["group"])
            if group is not None:
                notifications.mark_read(user=request.user, group=group)
        else:
            notifications.mark_read(user=request.user, ids=int_list(request.POST.getlist("id")))
        query = request.POST.get("query", "")
        return redirect(f"{request.path}?{query}" if query and "//" not in query else "notifications")
    form = NotificationFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(
        notifications.notification_groups(user=request.user, kind=filters.get("kind", ""),
                                          unread_only=bool(filters.get("unread"))),
        GROUPS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    groups = list(page.object_list)
    texts = notifications.latest_texts(ids=[group["latest_id"] for group in groups])
    kinds = dict(Notification.Kind.choices)
    for group in groups:
        group["text"] = texts.get(group["latest_id"], "")
        group["kind_label"] = kinds.get(group["kind"], group["kind"])
        group["key"] = f"{group['case_id'] or ''}:{group['kind']}"
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "feedback/notification_list.html",
                  {"page": page, "groups": groups, "form": form, "query": query.urlencode()})


@login_required
def personal_settings(request):
    """Away status (members) and notification e-mails: at once, an hourly digest or none; which kinds."""
    current = notifications.settings_for(user=request.user)
    initial = {"away": is_away(user=request.user), "email_mode": current.email_mode,
               "email_kinds": current.email_kinds}
    form = PersonalSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        set_away(user=request.user, away=data["away"])
        notifications.save_settings(user=request.user, email_mode=data["email_mode"], email_kinds=data["email_kinds"])
        messages.success(request, "Settings saved.")
        return redirect("settings")
    return render(request, "feedback/settings.html", {"form": form, "has_email": bool(request.user.email)},
                  status=400 if form.errors else 200)
