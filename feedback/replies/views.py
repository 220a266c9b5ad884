"""Pages of the replies room: the composer's endpoints on the case page, presence, the approvers'
queue and canned responses. Thin: parse, call one service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from config.errors import BatonError, NotAllowed
from config.query import int_param
from feedback.cases import selectors as case_selectors
from feedback.cases.case_page import case_page
from feedback.replies import presence, selectors, services, templating
from feedback.replies.forms import ApproveForm, CannedForm, ComposeForm, RejectForm
from feedback.replies.models import CannedResponse, ReplyStatus
from feedback.replies.services import Collision, PiiBlocked
from teams.selectors import department_ids_for


def _form_errors(form, exc: BatonError) -> None:
    for field, errors in exc.fields.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not any(field in form.fields for field in exc.fields):
        form.add_error(None, exc.message)


@login_required
@require_POST
def compose(request, case_id):
    case = case_selectors.case_for_user(user=request.user, case_id=case_id)
    form = ComposeForm(request.POST, case=case)
    extra = {}
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        canned = None
        if data["canned"]:
            canned = CannedResponse.objects.filter(pk=data["canned"], department_id=case.department_id).first()
        try:
            reply = services.compose_reply(
                case=case, by=request.user, text=data["text"], kind=data["kind"], in_reply_to=data["in_reply_to"],
                considerations=data["considerations"], canned=canned,
                seen_event=data["seen_event"], seen_reply=data["seen_reply"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except Collision as exc:
            form.refresh_marks(selectors.marks(case=case))
            extra["collision"] = exc.newer
            status = 409
        except PiiBlocked as exc:
            extra["pii_findings"] = exc.findings
            _form_errors(form, exc)
            status = 422
        except BatonError as exc:
            _form_errors(form, exc)
        else:
            presence.leave(case_id=case.pk, user=request.user)
            if reply.status == ReplyStatus.AWAITING_APPROVAL:
                messages.success(request, f"Reply waiting for approval: {reply.approval_reason}")
            else:
                messages.success(request, "Reply queued: it goes out in a moment; the case shows when it is sent.")
            return redirect("case-detail", case_id=case.pk)
    return case_page(request, case, forms={"reply": form}, status=status, extra=extra)


@login_required
def draft(request, case_id):
    """The reply box filled with a canned response (?canned=ID) or the recommended draft
    (?recommended=1), for htmx to swap in."""
    case = case_selectors.case_for_user(user=request.user, case_id=case_id)
    text = ""
    canned_id = int_param(request, "canned")
    if canned_id:
        canned = selectors.canned_for_user(user=request.user, canned_id=canned_id)
        text = selectors.render_canned(canned=canned, case=case, user=request.user)
    elif request.GET.get("recommended"):
        mention = case.mentions.order_by("-posted_at", "-id").first()
        template = templating.DRAFTS.get(mention.assessment if mention else "", "")
        values = templating.fields_for(case=case, agent=request.user, handle=mention.author_handle if mention else "")
        text = templating.render(template, values)
    else:
        return HttpResponse(status=204)  # "choose one" again: htmx leaves the box as it is
    form = ComposeForm(initial={"text": text}, case=case)
    return HttpResponse(str(form["text"]))


@login_required
@require_POST
def presence_poll(request, case_id):
    """Say "I am on this case" (typing, while the reply box is written in); answer who else is,
    and whether something arrived since the page loaded."""
    if request.POST.get("leave") == "1":
        # The page is going away (presence.js sends a beacon): drop the user's own entry, whatever became of
        # the case meanwhile (a handoff moves it out of their departments before the beacon arrives).
        presence.leave(case_id=case_id, user=request.user)
        return HttpResponse(status=204)
    case = case_selectors.case_for_user(user=request.user, case_id=case_id)
    presence.touch(case_id=case.pk, user=request.user, typing=request.POST.get("typing") == "1")
    seen_event, seen_reply = int_param(request, "seen_event"), int_param(request, "seen_reply")
    newer = []
    if seen_event is not None or seen_reply is not None:
        newer = selectors.activity_since(case=case, seen_event=seen_event, seen_reply=seen_reply, user=request.user)
    return render(request, "feedback/partials/_presence.html", {
        "others": presence.others(case_id=case.pk, user=request.user), "newer": newer, "case": case,
    })


@login_required
def approvals(request):
    replies = selectors.approvals_for(user=request.user)
    if not replies and not department_ids_for(user=request.user):
        raise PermissionDenied("Only department members approve replies.")
    return render(request, "feedback/approvals.html", {
        "items": [(reply, ApproveForm(reply=reply), RejectForm(reply=reply)) for reply in replies],
        "my_department_ids": department_ids_for(user=request.user),
    })


def _decide(request, reply_id, *, approve: bool):
    reply = selectors.reply_for_approver(user=request.user, reply_id=reply_id)
    form = (ApproveForm if approve else RejectForm)(request.POST, reply=reply)
    if form.is_valid():
        try:
            if approve:
                services.approve_reply(reply=reply, by=request.user, text=form.cleaned_data["text"])
            else:
                services.reject_reply(reply=reply, by=request.user, reason=form.cleaned_data["reason"])
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except BatonError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Reply on case #{reply.case_id} "
                                      f"{'approved: it goes out in a moment' if approve else 'rejected'}.")
            return redirect("reply-approvals")
    items = [(item, form if approve and item.pk == reply.pk else ApproveForm(reply=item),
              form if not approve and item.pk == reply.pk else RejectForm(reply=item))
             for item in selectors.approvals_for(user=request.user)]
    return render(request, "feedback/approvals.html",
                  {"items": items, "my_department_ids": department_ids_for(user=request.user)}, status=400)


@login_required
@require_POST
def approve(request, reply_id):
    return _decide(request, reply_id, approve=True)


@login_required
@require_POST
def reject(request, reply_id):
    return _decide(request, reply_id, approve=False)


@login_required
@require_POST
def resend(request, reply_id):
    reply = selectors.reply_for_member(user=request.user, reply_id=reply_id)
    try:
        services.resend_reply(reply=reply, by=request.user)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except BatonError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Sending the reply again.")
    return redirect("case-detail", case_id=reply.case_id)


@login_required
def canned_list(request):
    if not CannedForm(user=request.user).fields["department"].queryset.exists():
        raise PermissionDenied("Canned responses are managed by leads and heads.")
    return render(request, "feedback/canned_list.html", {"canned": selectors.managed_canned(user=request.user)})


def _canned_form(request, canned=None):
    form = CannedForm(request.POST or None, instance=canned, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_canned(canned=form.save(commit=False), by=request.user)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except BatonError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Canned response saved.")
            return redirect("canned-list")
    return render(request, "feedback/canned_form.html", {"form": form, "canned": canned,
                                                           "fields": templating.FIELDS},
                  status=400 if request.method == "POST" else 200)


@login_required
def canned_create(request):
    if not CannedForm(user=request.user).fields["department"].queryset.exists():
        raise PermissionDenied("Canned responses are managed by leads and heads.")
    return _canned_form(request)


@login_required
def canned_edit(request, canned_id):
    canned = selectors.managed_canned(user=request.user).filter(pk=canned_id).first()
    if canned is None:
        raise PermissionDenied("Only a lead or head of its department edits this canned response.")
    return _canned_form(request, canned)


@login_required
@require_POST
def canned_delete(request, canned_id):
    canned = selectors.managed_canned(user=request.user).filter(pk=canned_id).first()
    if canned is None:
        raise PermissionDenied("Only a lead or head of its department deletes this canned response.")
    services.delete_canned(canned=canned, by=request.user)
    messages.success(request, "Canned response deleted.")
    return redirect("canned-list")
