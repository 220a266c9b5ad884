"""The board dashboard's pages. Thin: parse the period, call the selectors, render."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.errors import BatonError
from feedback.board import charts, permissions, selectors, services
from feedback.board.forms import PeriodForm
from feedback.board.models import SuggestedProblem
from feedback.understanding.selectors import promise_by_slug
from teams.selectors import headed_departments


def _require_board(user) -> None:
    if not permissions.can_view_board(user=user):
        raise PermissionDenied("The board dashboard is for board members and department heads.")


def _period(request):
    form = PeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return form, None
    return form, form.period()


@login_required
def board(request):
    _require_board(request.user)
    form, period = _period(request)
    if period is None:
        return render(request, "feedback/board.html", {"form": form}, status=400)
    data = selectors.cached_dashboard(period=period)
    return render(request, "feedback/board.html", {
        "form": form, "data": data, "charts": charts.all_charts(data), "query": request.GET.urlencode(),
        "can_drill": permissions.can_drill_down(user=request.user),
        "headed": list(headed_departments(user=request.user)),
    })


@login_required
@require_POST
def confirm_suggestion(request, suggestion_id):
    headed = {department.pk: department for department in headed_departments(user=request.user)}
    if not headed:
        raise PermissionDenied("Only department heads confirm suggested problems.")
    suggestion = get_object_or_404(SuggestedProblem, pk=suggestion_id)
    department = headed.get(int(request.POST["department"])) if request.POST.get("department", "").isdigit() else None
    if department is None:
        messages.error(request, "Choose one of the departments you head.")
        return redirect("board")
    try:
        problem, linked = services.confirm_suggestion(suggestion=suggestion, department=department, by=request.user)
    except BatonError as exc:
        messages.error(request, exc.message)
        return redirect("board")
    messages.success(request, f"Problem created for {department}: {problem.title} ({linked} cases linked).")
    return redirect("problem-detail", problem_id=problem.pk)


@login_required
def board_csv(request, chart_id):
    _require_board(request.user)
    form, period = _period(request)
    if period is None:
        return HttpResponse("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()), status=400,
                            content_type="text/plain")
    chart = charts.all_charts(selectors.cached_dashboard(period=period)).get(chart_id)
    if chart is None:
        raise Http404("No such chart.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="baton-{chart_id}-{period.start}-{period.end}.csv"'
    writer = csv.writer(response)
    writer.writerows(charts.csv_rows(chart))
    return response


@login_required
def board_print(request):
    _require_board(request.user)
    form, period = _period(request)
    if period is None:
        return render(request, "feedback/board.html", {"form": form}, status=400)
    data = selectors.cached_dashboard(period=period)
    return render(request, "feedback/board_print.html", {"data": data, "charts": charts.all_charts(data)})


@login_required
def board_promise(request, slug):
    _require_board(request.user)
    promise = promise_by_slug(slug=slug)
    form, period = _period(request)
    if period is None:
        return render(request, "feedback/board.html", {"form": form}, status=400)
    drill = permissions.can_drill_down(user=request.user)
    return render(request, "feedback/board_promise.html", {
        "promise": promise, "period": period, "form": form, "query": request.GET.urlencode(),
        "summary": selectors.promise_summary(promise=promise, period=period),
        "examples": selectors.promise_examples(promise=promise, period=period) if drill else None,
        "can_drill": drill,
    })
