"""Routing rule pages (department heads and superusers) and the "away" toggle (every member).

Least privilege: a head sees every rule (the order matters to all) but edits, tests, toggles, moves and deletes
only the rules routing to a department they head, and creates rules only for those (403 otherwise); a superuser
manages all, monitor-only rules included (`feedback.routing.selectors`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from config.errors import NotAllowed
from config.query import int_list
from feedback.routing import services as routing
from feedback.routing.forms import DepartmentSettingsForm, RoutingRuleForm
from feedback.routing.models import RoutingRule
from feedback.routing.selectors import can_manage_rule, manageable_rules
from teams.selectors import headed_departments, is_away
from teams.services import set_away, update_department_settings


def _require_head(user) -> None:
    if not headed_departments(user=user).exists():
        raise PermissionDenied("Routing rules are managed by department heads.")


def _managed_rule(user, rule_id) -> RoutingRule:
    """The rule, if `user` may manage it: 404 when there is none, 403 when it routes to another department."""
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    if not can_manage_rule(user=user, rule=rule):
        raise PermissionDenied("Only the heads of the department a rule routes to manage it.")
    return rule


def _managed_ids(user) -> set[int] | None:
    """What `routing.reorder_rules` may move for `user`: None (everything) for a superuser."""
    return None if user.is_superuser else set(manageable_rules(user=user).values_list("pk", flat=True))


@login_required
def rule_list(request):
    _require_head(request.user)
    departments = list(headed_departments(user=request.user))
    settings_forms = [DepartmentSettingsForm(department=department) for department in departments]
    if request.method == "POST":  # one department's settings
        department = next((d for d in departments if str(d.pk) == request.POST.get("department")), None)
        if department is None:
            raise PermissionDenied("You are not the head of that department.")
        form = DepartmentSettingsForm(request.POST, department=department)
        if form.is_valid():
            update_department_settings(department=department, assignment=form.cleaned_data["assignment"],
                                       reopen_window=form.reopen_window)
            messages.success(request, f"Settings of {department} saved.")
            return redirect("rule-list")
        settings_forms = [form if f.department.pk == department.pk else f for f in settings_forms]
    rules = RoutingRule.objects.select_related("department").prefetch_related("promises").order_by(
        "is_default", "position", "id"
    )
    managed = set(manageable_rules(user=request.user).values_list("pk", flat=True))
    return render(request, "feedback/rule_list.html", {"rules": rules, "settings_forms": settings_forms,
                                                       "managed": managed},
                  status=400 if request.method == "POST" else 200)


def _rule_page(request, rule: RoutingRule | None):
    form = RoutingRuleForm(request.POST or None, instance=rule, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = routing.save_rule(rule=form.save(commit=False), promises=form.cleaned_data.get("promises"),
                                  by=request.user)
        messages.success(request, f"Rule \u201c{saved.name}\u201d saved.")
        return redirect("rule-list")
    return render(request, "feedback/rule_form.html", {"form": form, "rule": rule},
                  status=400 if request.method == "POST" else 200)


@login_required
def rule_create(request):
    _require_head(request.user)
    return _rule_page(request, None)


@login_required
def rule_edit(request, rule_id):
    _require_head(request.user)
    return _rule_page(request, _managed_rule(request.user, rule_id))


@login_required
@require_POST
def rule_test(request, rule_id=None):
    """htmx: what the rule as edited (not saved) would have matched among the last 1,000 mentions."""
    _require_head(request.user)
    rule = _managed_rule(request.user, rule_id) if rule_id else None
    form = RoutingRuleForm(request.POST, instance=rule, user=request.user)
    if not form.is_valid():
        return render(request, "feedback/partials/_rule_test.html", {"form": form}, status=200)
    unsaved = form.save(commit=False)  # not saved: form.instance only holds the edited values
    promise_ids = [promise.pk for promise in form.cleaned_data.get("promises") or []]
    if unsaved.is_default:
        promise_ids = []
    result = routing.try_rule(rule=unsaved, promise_ids=promise_ids)
    return render(request, "feedback/partials/_rule_test.html", {"form": form, "result": result})


@login_required
@require_POST
def rule_move(request, rule_id, direction):
    _require_head(request.user)
    rule = _managed_rule(request.user, rule_id)
    try:
        routing.move_rule(rule=rule, up=direction == "up", by=request.user, managed=_managed_ids(request.user))
    except (routing.RoutingError, NotAllowed) as exc:
        messages.error(request, exc.message)
    return redirect("rule-list")


@login_required
@require_POST
def rule_reorder(request):
    """Drag and drop: the new order of rule ids."""
    _require_head(request.user)
    ids = int_list(request.POST.getlist("rule"))
    try:
        routing.reorder_rules(ids=ids, by=request.user, managed=_managed_ids(request.user))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    return HttpResponse(status=204) if request.htmx else redirect("rule-list")


@login_required
@require_POST
def rule_toggle(request, rule_id):
    _require_head(request.user)
    rule = _managed_rule(request.user, rule_id)
    if rule.is_default:
        messages.error(request, "The default rule is always active.")
    else:
        rule.is_active = not rule.is_active
        routing.save_rule(rule=rule, by=request.user)
        messages.success(request, f"Rule \u201c{rule.name}\u201d {'activated' if rule.is_active else 'deactivated'}.")
    return redirect("rule-list")


@login_required
@require_POST
def rule_delete(request, rule_id):
    _require_head(request.user)
    rule = _managed_rule(request.user, rule_id)
    try:
        routing.delete_rule(rule=rule)
    except routing.RoutingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Rule \u201c{rule.name}\u201d deleted.")
    return redirect("rule-list")


@login_required
@require_POST
def toggle_away(request):
    """A member marks themselves away (no new cases) or back."""
    away = not is_away(user=request.user)
    set_away(user=request.user, away=away)
    messages.success(request, "You are away: new cases go to your colleagues." if away else "Welcome back.")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)
