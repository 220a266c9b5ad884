"""Pages of understanding: correcting a mention's labels on the case page, and the promises.

Thin: parse the form, call one service or selector, render. Label corrections answer htmx with
the mention's label panel (and the new timeline entry, out of band); without JavaScript they
redirect back to the case page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.errors import BatonError, NotAllowed
from feedback.cases import events, selectors
from feedback.understanding import permissions
from feedback.understanding import promises as promise_services
from feedback.understanding import selectors as reads
from feedback.understanding.forms import LabelCorrectionForm, PromiseForm
from feedback.understanding.labels import correct_label
from teams.selectors import department_ids_for

MENTIONS_PER_PAGE = 25


# --- Label corrections ----------------------------------------------------------------------


@login_required
@require_POST
def label_correct(request, case_id, mention_id):
    case = selectors.case_for_user(user=request.user, case_id=case_id)  # another department's case: 404
    mention = case.mentions.filter(pk=mention_id).first()
    if mention is None:
        raise Http404("No such post on this case.")
    form = LabelCorrectionForm(request.POST)
    error, event = "", None
    if form.is_valid():
        try:
            correction = correct_label(mention=mention, label=form.cleaned_data["label"],
                                       value=form.cleaned_data["value"], by=request.user)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except BatonError as exc:
            error = exc.message
        else:
            event = events.correction_note(case=case, correction_id=correction.pk)
    else:
        error = "Choose a label and a value."
    if not request.htmx:
        if error:
            messages.error(request, f"The label was not changed: {error}")
        else:
            messages.success(request, "Label saved. Baton keeps it and learns from it.")
        return redirect(f"{reverse('case-detail', args=[case.pk])}#mention-{mention.pk}")
    # htmx swaps only 2xx answers: a refused value is shown inside the panel it replaces.
    mention.refresh_from_db()
    context = reads.mention_panel(mention=mention, case=case, clocks=list(case.clocks.all()),
                                  promises=reads.promise_choices())
    return render(request, "feedback/partials/_mention_labels.html",
                  {**context, "open": True, "error": error, "saved_label": "" if error else form.cleaned_data.get("label", ""),
                   "new_event": event})


# --- Promises ---------------------------------------------------------------------------------


def _require_viewer(user):
    if not permissions.can_view_promises(user=user):
        raise PermissionDenied("Promises are for members of a department.")


def _require_manager(user):
    if not permissions.can_manage_promises(user=user):
        raise PermissionDenied("Only marketing leads and heads manage promises.")


def _form_errors(form, exc: BatonError) -> None:
    for field, errors in exc.fields.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not any(field in form.fields for field in exc.fields):
        form.add_error(None, exc.message)


@login_required
def promise_list(request):
    if not permissions.can_view_promise_list(user=request.user):
        raise PermissionDenied("Promises are for members of a department and the board.")
    return render(request, "feedback/promise_list.html", {
        "promises": reads.promises_overview(), "can_manage": permissions.can_manage_promises(user=request.user),
        "can_open": permissions.can_view_promises(user=request.user),  # the board reads the list only
    })


@login_required
def promise_create(request):
    _require_manager(request.user)
    form = PromiseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            promise = promise_services.create_promise(by=request.user, **form.cleaned_data)
        except BatonError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Promise “{promise.name}” created: new posts are matched to it.")
            return redirect("promise-detail", slug=promise.slug)
    return render(request, "feedback/promise_form.html", {"form": form, "promise": None},
                  status=400 if form.errors else 200)


@login_required
def promise_detail(request, slug):
    _require_viewer(request.user)
    if not permissions.can_see_posts(user=request.user):  # the board: the promise's aggregates, no posts
        return redirect("board-promise", slug=reads.promise_by_slug(slug=slug).slug)
    promise = reads.promise_by_slug(slug=slug)
    page = Paginator(reads.promise_mentions(promise=promise), MENTIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "feedback/promise_detail.html", {
        "promise": promise, "page": page, "my_department_ids": department_ids_for(user=request.user),
        "can_manage": permissions.can_manage_promises(user=request.user),
    })


@login_required
def promise_edit(request, slug):
    _require_manager(request.user)
    promise = reads.promise_by_slug(slug=slug)
    initial = {field: getattr(promise, field) for field in
               ("name", "description", "phrases", "examples", "department", "target", "is_active")}
    form = PromiseForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            promise_services.update_promise(promise=promise, by=request.user, **form.cleaned_data)
        except BatonError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Promise “{promise.name}” saved.")
            return redirect("promise-detail", slug=promise.slug)
    return render(request, "feedback/promise_form.html", {"form": form, "promise": promise},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def promise_toggle(request, slug):
    _require_manager(request.user)
    promise = reads.promise_by_slug(slug=slug)
    promise = promise_services.set_promise_active(promise=promise, active=not promise.is_active, by=request.user)
    messages.success(request, f"Promise “{promise.name}” {'reactivated' if promise.is_active else 'deactivated'}.")
    return redirect("promise-detail", slug=promise.slug)


@login_required
@require_POST
def promise_delete(request, slug):
    _require_manager(request.user)
    promise = reads.promise_by_slug(slug=slug)
    try:
        promise_services.delete_promise(promise=promise, by=request.user)
    except BatonError as exc:
        messages.error(request, exc.message)
        return redirect("promise-detail", slug=promise.slug)
    messages.success(request, f"Promise “{promise.name}” deleted.")
    return redirect("promise-list")
