"""Pages of the journey: incoming handoffs, feedback up, problems. Thin, as `feedback.cases.views`.

Seeing follows `journey_selectors` (404 when the user's departments have nothing to do with it);
acting needs membership of the department concerned: a service's NotAllowed becomes a 403.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from config.errors import BatonError, NotAllowed
from config.query import choice_param, int_param
from feedback.cases import journey, problems
from feedback.cases import journey_selectors as selectors
from feedback.cases.case_page import case_page
from feedback.cases.journey_forms import ResolveProblemForm, ReturnHandoffForm
from feedback.choices import ProblemStatus
from teams.models import Department
from teams.selectors import department_ids_for


def _departments_required(user) -> set[int]:
    ids = department_ids_for(user=user)
    if not ids:
        raise PermissionDenied("Only department members see this page.")
    return ids


def _run(action, **kwargs):
    """Call a service; NotAllowed is a 403, as for any action of another department."""
    try:
        return action(**kwargs)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc


@login_required
def incoming(request):
    _departments_required(request.user)
    handoffs = list(selectors.incoming_handoffs(user=request.user))
    return render(request, "feedback/incoming.html", {
        "handoffs": [(handoff, ReturnHandoffForm(handoff=handoff)) for handoff in handoffs],
        "sent": list(selectors.sent_handoffs(user=request.user)),
    })


@login_required
@require_POST
def handoff_accept(request, handoff_id):
    handoff = selectors.handoff_for_user(user=request.user, handoff_id=handoff_id)
    try:
        _run(journey.accept_handoff, handoff=handoff, by=request.user, take=request.POST.get("take") == "1")
    except BatonError as exc:
        messages.error(request, exc.message)
        return redirect("incoming")
    messages.success(request, f"Case #{handoff.case_id} accepted: it is in your inbox.")
    return redirect("case-detail", case_id=handoff.case_id)


@login_required
@require_POST
def handoff_return(request, handoff_id):
    handoff = selectors.handoff_for_user(user=request.user, handoff_id=handoff_id)
    form = ReturnHandoffForm(request.POST, handoff=handoff)
    if form.is_valid():
        try:
            _run(journey.return_handoff, handoff=handoff, by=request.user, reason=form.cleaned_data["reason"])
        except BatonError as exc:
            messages.error(request, exc.message)
            return redirect("incoming")
        messages.success(request, f"Case #{handoff.case_id} sent back to {handoff.from_department}.")
        return redirect("incoming")
    if handoff.to_department_id not in department_ids_for(user=request.user):
        raise PermissionDenied("Only the receiving department can send a handoff back.")
    return case_page(request, handoff.case, forms={"return": form}, status=400)


@login_required
def feedback_list(request):
    _departments_required(request.user)
    return render(request, "feedback/feedback_list.html", selectors.feedback_inbox(user=request.user))


@login_required
@require_POST
def feedback_acknowledge(request, feedback_id):
    note = selectors.feedback_for_user(user=request.user, feedback_id=feedback_id)
    try:
        _run(journey.acknowledge_feedback, feedback=note, by=request.user)
    except BatonError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Feedback on case #{note.case_id} acknowledged.")
    return redirect("feedback-list")


@login_required
def problem_list(request):
    _departments_required(request.user)
    department_id = int_param(request, "department")
    status = choice_param(request, "status", ProblemStatus.values, default=ProblemStatus.OPEN)
    return render(request, "feedback/problem_list.html", {
        "problems": selectors.problems(department_id=department_id, status=status or None)[:200],
        "departments": Department.objects.order_by("name"),
        "department_id": department_id,
        "status": status,
        "statuses": ProblemStatus.choices,
    })


def _problem_page(request, problem_id, *, form=None, status=200):
    context = selectors.problem_detail(problem_id=problem_id, user=request.user)
    context["resolve_form"] = form or ResolveProblemForm()
    return render(request, "feedback/problem_detail.html", context, status=status)


@login_required
@require_safe  # a page to read: a POST goes to problem-resolve
def problem_detail(request, problem_id):
    _departments_required(request.user)
    return _problem_page(request, problem_id)


@login_required
@require_POST
def problem_resolve(request, problem_id):
    ids = _departments_required(request.user)
    problem = selectors.problem_detail(problem_id=problem_id, user=request.user)["problem"]
    if problem.owner_department_id not in ids:  # refused before the form is read, whatever it holds
        raise PermissionDenied(f"Only members of {problem.owner_department} can resolve this problem.")
    form = ResolveProblemForm(request.POST)
    if form.is_valid():
        try:
            counts = _run(problems.resolve_problem, problem=problem, by=request.user, note=form.cleaned_data["note"],
                          resolve_cases=form.cleaned_data["resolve_cases"])
        except BatonError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Problem resolved: {counts['resolved']} case(s) resolved, "
                                      f"{counts['notified']} told on their timeline.")
            return redirect("problem-detail", problem_id=problem.pk)
    return _problem_page(request, problem_id, form=form, status=400)
