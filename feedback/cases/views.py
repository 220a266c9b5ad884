"""Pages. Thin: parse the form, call one service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.errors import BatonError, NotAllowed
from config.query import choice_param, int_list, int_param
from feedback.cases import actions, journey, journey_selectors, problems, selectors
from feedback.cases import saved_views as saved_view_services
from feedback.cases import services as case_services
from feedback.cases.case_page import case_page
from feedback.cases.filters import CaseFilter, active_filters
from feedback.cases.forms import (
    AssignForm,
    BulkActionForm,
    HandoffForm,
    NoteForm,
    PendingForm,
    PriorityForm,
    ResumeForm,
    SavedViewForm,
    TakeForm,
)
from feedback.cases.journey_forms import FeedbackUpForm, OutcomeResolveForm, ProblemLinkForm, StageForm
from teams.models import Role
from teams.selectors import departments_for, is_board, led_department_ids, roles_for


@login_required
def home(request):
    if departments_for(user=request.user).exists():
        return redirect("inbox")
    if is_board(user=request.user):
        return redirect("board")
    return render(request, "feedback/no_department.html", status=403)


@login_required
def inbox(request):
    """The department inbox: a tab, filters, search and sort (`filters.CaseFilter`), one page of
    rows. htmx requests (filter changes, the polling refresh) get the rows and the pager only."""
    roles = roles_for(user=request.user)
    my_ids = set(roles)
    if not my_ids:
        raise PermissionDenied("The inbox is for department members.")
    department_id = int_param(request, "department")
    tab = choice_param(request, "tab", [value for value, _ in selectors.INBOX_TABS], default="all") or "all"
    filterset = CaseFilter(request.GET, queryset=selectors.inbox_base(user=request.user, tab=tab,
                                                                      department_id=department_id,
                                                                      department_ids=my_ids),
                           user=request.user, department_ids=my_ids)
    page = selectors.inbox_page(filterset.qs.values_list("pk", flat=True), number=int_param(request, "page"))
    context = {
        "cases": selectors.inbox_rows(case_ids=list(page.object_list)),
        "page": page,
        "tab": tab,
        "tabs": selectors.INBOX_TABS,
        "filterset": filterset,
        "filtered": active_filters(filterset),
        "department_id": department_id,
        "multi_department": len(my_ids) > 1,  # each row names its department
        "query": _query_without(request, "page"),
        "tab_query": _query_without(request, "page", "tab"),
    }
    if request.htmx:
        return render(request, "feedback/partials/_inbox_rows.html", context)
    context.update({
        "journey_counts": journey_selectors.journey_counts(user=request.user),
        "bulk_form": BulkActionForm(members=filterset.member_choices, initial={"next": request.get_full_path()},
                                    may_assign=any(role in (Role.LEAD, Role.HEAD) for role in roles.values())),
        "saved_views": selectors.saved_views(user=request.user),
        "saved_view_form": SavedViewForm(initial={"query": _query_without(request, "page")}),
    })
    return render(request, "feedback/case_list.html", context)


def _query_without(request, *names) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@login_required
@require_POST
def inbox_bulk(request):
    """A bulk action on the ticked cases; each case is done or refused on its own."""
    may_assign = bool(led_department_ids(user=request.user))
    form = BulkActionForm(request.POST, members=CaseFilter(user=request.user).member_choices if may_assign else (),
                          may_assign=may_assign)
    case_ids = int_list(request.POST.getlist("case"))
    target = (form.is_valid() and form.cleaned_data["next"]) or reverse("inbox")
    if not form.is_valid():
        errors = form.errors.as_data()
        messages.error(request, " ".join(error.messages[0] for field in errors.values() for error in field[:1]))
        return redirect(target)
    if not case_ids:
        messages.error(request, "Tick the cases first (x, or the boxes in the first column).")
        return redirect(target)
    data = form.cleaned_data
    try:
        result = actions.bulk_apply(
            case_ids=case_ids, action=data["action"], by=request.user, assignee_id=data.get("assignee"),
            priority=data["priority"], note=data["note"],
            to_department_id=data["to_department"].pk if data["to_department"] else None,
        )
    except BatonError as exc:
        messages.error(request, exc.message)
        return redirect(target)
    label = actions.BULK_ACTIONS[data["action"]]
    if result.done:
        messages.success(request, f"{label}: done for {len(result.done)} case(s).")
    for case_id, reason in sorted(result.failed.items())[:10]:
        messages.error(request, f"{label}: case #{case_id} not changed: {reason}")
    if len(result.failed) > 10:
        messages.error(request, f"... and {len(result.failed) - 10} more not changed.")
    return redirect(target)


@login_required
@require_POST
def saved_view_create(request):
    form = SavedViewForm(request.POST)
    if form.is_valid():
        view = saved_view_services.save_view(user=request.user, name=form.cleaned_data["name"],
                                             query=form.cleaned_data["query"])
        messages.success(request, f"View “{view.name}” saved.")
        return redirect(f"{reverse('inbox')}?{view.query}" if view.query else reverse("inbox"))
    messages.error(request, "Name the view to save it.")
    return redirect("inbox")


@login_required
@require_POST
def saved_view_delete(request, view_id):
    if not saved_view_services.delete_view(user=request.user, view_id=view_id):
        raise Http404("No such saved view.")
    messages.success(request, "Saved view deleted.")
    return redirect("inbox")


@login_required
def case_detail(request, case_id):
    case = journey_selectors.case_for_viewer(user=request.user, case_id=case_id)
    return case_page(request, case)


# The reply has its own view (feedback.replies.views.compose, same URL): it goes out through a connector.
ACTIONS = {
    "take": (TakeForm, lambda case, user, data: actions.take_case(case=case, by=user)),
    "assign": (AssignForm, lambda case, user, data: actions.assign_case(case=case, assignee=data["assignee"], by=user)),
    "priority": (PriorityForm,
                 lambda case, user, data: actions.set_priority(case=case, priority=data["priority"], by=user)),
    "pending": (PendingForm, lambda case, user, data: actions.set_pending(case=case, by=user, reason=data["note"])),
    "resume": (ResumeForm, lambda case, user, data: actions.resume_case(case=case, by=user)),
    "note": (NoteForm, lambda case, user, data: case_services.add_note(case=case, by=user, text=data["text"])),
    "handoff": (
        HandoffForm,
        lambda case, user, data: case_services.hand_off(
            case=case, to_department=data["to_department"], note=data["note"], by=user
        ),
    ),
    "resolve": (
        OutcomeResolveForm,
        lambda case, user, data: journey.resolve_case(case=case, by=user, note=data["note"], outcome=data["outcome"],
                                                             amount=data.get("amount")),
    ),
    "feedback": (
        FeedbackUpForm,
        lambda case, user, data: journey.send_feedback(
            case=case, to_department=data["to_department"], text=data["text"], by=user
        ),
    ),
    "problem": (
        ProblemLinkForm,
        lambda case, user, data: problems.link_case(
            case=case, by=user, problem=data["problem"], title=data["title"], description=data["description"]
        ),
    ),
    "stage": (
        StageForm,
        lambda case, user, data: journey.move_stage(
            customer=case.customer, to=data["to"], by=user, reason=data["reason"], case=case
        ),
    ),
}
DONE = {"take": "The case is yours.", "assign": "Assignee changed.", "priority": "Priority changed.",
        "pending": "Pending: the customer's SLA clocks are paused until they write or you resume.",
        "resume": "Resumed: the SLA clocks run again.", "note": "Note added.", "resolve": "Case resolved.",
        "handoff": "Case handed off: it waits for the receiving department to accept it.",
        "feedback": "Feedback sent.", "problem": "Case linked to the problem.", "stage": "Customer stage changed."}


@login_required
@require_POST
def case_action(request, case_id, action):
    case = selectors.case_for_user(user=request.user, case_id=case_id)
    if action not in ACTIONS:
        raise Http404(f"No case action {action!r}.")
    form_class, run = ACTIONS[action]
    form = form_class(request.POST, case=case)
    if form.is_valid():
        try:
            run(case, request.user, form.cleaned_data)
        except BatonError as exc:
            if isinstance(exc, NotAllowed):
                raise PermissionDenied(exc.message) from exc
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            if not any(field in form.fields for field in exc.fields):
                form.add_error(None, exc.message)  # the rule's own words, unless a field of the form says it
        else:
            messages.success(request, DONE[action])
            if action == "handoff":
                return redirect("inbox")
            return redirect("case-detail", case_id=case.pk)
    return case_page(request, case, forms={action: form}, status=400)

