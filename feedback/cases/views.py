"""Pages. Thin: parse the form, call one service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from config.errors import BatonError, NotAllowed
from config.query import int_param
from feedback.cases import actions, journey, journey_selectors, problems, selectors
from feedback.cases import services as case_services
from feedback.cases.case_page import case_page
from feedback.cases.forms import AssignForm, HandoffForm, NoteForm, PendingForm, PriorityForm, ResumeForm, TakeForm
from feedback.cases.journey_forms import FeedbackUpForm, OutcomeResolveForm, ProblemLinkForm, StageForm
from teams.selectors import departments_for, is_board


@login_required
def home(request):
    if departments_for(user=request.user).exists():
        return redirect("inbox")
    if is_board(user=request.user):
        return redirect("board")
    return render(request, "feedback/no_department.html", status=403)


@login_required
def inbox(request):
    department_id = int_param(request, "department")
    cases = selectors.inbox_cases(user=request.user, department_id=department_id)[:200]
    if request.htmx:
        return render(request, "feedback/partials/_inbox_rows.html", {"cases": cases, "department_id": department_id})
    counts = journey_selectors.journey_counts(user=request.user)
    return render(request, "feedback/case_list.html", {"cases": cases, "department_id": department_id,
                                                       "journey_counts": counts})


@login_required
def case_detail(request, case_id):
    case = journey_selectors.case_for_viewer(user=request.user, case_id=case_id)
    return case_page(request, case)


# The reply has its own view (feedback.replies.views.compose, same URL): it goes out through a connector.
ACTIONS = {
    "take": (TakeForm, lambda case, user, data: actions.take_case(case=case, user=user)),
    "assign": (AssignForm, lambda case, user, data: actions.assign_case(case=case, assignee=data["assignee"], by=user)),
    "priority": (PriorityForm,
                 lambda case, user, data: actions.set_priority(case=case, priority=data["priority"], by=user)),
    "pending": (PendingForm, lambda case, user, data: actions.set_pending(case=case, by=user, note=data["note"])),
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
        lambda case, user, data: journey.resolve_case(case=case, by=user, note=data["note"], outcome=data["outcome"]),
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

