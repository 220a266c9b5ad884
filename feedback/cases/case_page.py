"""The case page, rendered with its forms: by `views` (the case's own actions), by `journey_views`
(a handoff sent back with an invalid form) and by `feedback.replies.views` (the composer), so none
imports another."""

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from config.query import int_param
from feedback.cases import journey_selectors, selectors
from feedback.cases.forms import AssignForm, HandoffForm, NoteForm, PendingForm, PriorityForm
from feedback.cases.journey_forms import (
    FeedbackUpForm,
    OutcomeResolveForm,
    ProblemLinkForm,
    ReturnHandoffForm,
    StageForm,
)
from feedback.replies import selectors as reply_selectors
from feedback.replies.forms import ComposeForm
from feedback.replies.rules import CONSIDERATIONS, approval_reason
from feedback.replies.templating import DRAFTS
from feedback.understanding.selectors import response_guidance


def journey_context(request, case, forms: dict) -> dict:
    """The case page's journey part: the pending handoff, feedback, problem, stage and their forms."""
    context = journey_selectors.case_journey(case=case, user=request.user)
    pending = context["pending_handoff"]
    return {
        **context,
        "return_form": forms.get("return") or ReturnHandoffForm(handoff=pending),
        "feedback_form": forms.get("feedback") or FeedbackUpForm(case=case),
        "problem_form": forms.get("problem") or ProblemLinkForm(case=case),
        "stage_form": forms.get("stage") or StageForm(case=case),
    }


def customer_url(customer) -> str:
    """The customer's page, once the CRM pages exist (URL name `customer-detail`); "" until then."""
    try:
        return reverse("customer-detail", args=[customer.pk])
    except NoReverseMatch:
        return ""


def composer_context(request, case, forms: dict, detail: dict) -> dict:
    """The reply composer: the form (with the page's marks), canned responses for the latest post's
    assessment, the recommended draft, the five considerations with this post's advice, and the
    replies on their way, stopped or in the outbox."""
    latest = detail["mentions"][-1] if detail["mentions"] else case.mentions.order_by("-posted_at", "-id").first()
    assessment = latest.assessment if latest else ""
    advice = {}
    if latest is not None:
        guidance = response_guidance(mention=latest, case=case, clocks=detail["clocks"])
        advice = {name.lower(): text for name, text in guidance.considerations}
    latest_page = detail["posts_page"].number == 1  # the page of the latest posts: the form needs no query of its own
    form = forms.get("reply") or ComposeForm(case=case, marks=reply_selectors.marks(case=case),
                                             posts=list(reversed(detail["mentions"])) if latest_page else None)
    return {
        "reply_form": form,
        "canned": reply_selectors.canned_for_case(case=case, assessment=assessment),
        "recommended_draft": bool(DRAFTS.get(assessment)),
        "checklist": [(key, label, advice.get(key, "")) for key, label in CONSIDERATIONS],
        "approval_reason": approval_reason(case),
        **reply_selectors.case_replies(case=case, replied=case.first_replied_at is not None),
    }


def case_page(request, case, *, forms=None, status=200, extra=None):
    """The case page; `forms` holds the bound forms to show again (with their errors), by action;
    `extra` adds to the context (the composer's collision list or PII findings)."""
    forms = forms or {}
    detail = selectors.case_detail(case=case, posts_page=int_param(request, "posts"),
                                   events_page=int_param(request, "events"))
    context = {
        "case": case,
        "note_form": forms.get("note") or NoteForm(),
        "handoff_form": forms.get("handoff") or HandoffForm(case=case),
        "resolve_form": forms.get("resolve") or OutcomeResolveForm(case=case),
        "assign_form": forms.get("assign") or AssignForm(case=case),
        "priority_form": forms.get("priority") or PriorityForm(case=case),
        "pending_form": forms.get("pending") or PendingForm(),
        # ?posts=2 and ?events=2: the page of posts, of timeline entries, before the latest ("show earlier").
        **detail,
        "customer_url": customer_url(case.customer),
        **journey_context(request, case, forms),
        **composer_context(request, case, forms, detail),
        **(extra or {}),
    }
    context["other_cases"] = (selectors.other_open_cases(case=case, department_ids=context["my_department_ids"])
                              if detail["customer_cases"] > 1 else [])
    # The header's quick actions that came back with an error (shown above the page).
    context["quick_forms"] = [forms[key] for key in ("take", "assign", "priority", "pending", "resume") if key in forms]
    return render(request, "feedback/case_detail.html", context, status=status)
