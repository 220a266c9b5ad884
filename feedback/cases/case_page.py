"""The case page, rendered with its forms: by `views` (the case's own actions) and by
`journey_views` (a handoff sent back with an invalid form), so neither imports the other."""

from django.shortcuts import render

from config.query import int_param
from customers import suggestions as customer_suggestions
from feedback.cases import journey_selectors, selectors
from feedback.cases.forms import HandoffForm, NoteForm, ReplyForm
from feedback.cases.journey_forms import (
    FeedbackUpForm,
    OutcomeResolveForm,
    ProblemLinkForm,
    ReturnHandoffForm,
    StageForm,
)


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


def case_page(request, case, *, forms=None, status=200):
    """The case page; `forms` holds the bound forms to show again (with their errors), by action."""
    forms = forms or {}
    context = {
        "case": case,
        "reply_form": forms.get("reply") or ReplyForm(),
        "note_form": forms.get("note") or NoteForm(),
        "handoff_form": forms.get("handoff") or HandoffForm(case=case),
        "resolve_form": forms.get("resolve") or OutcomeResolveForm(case=case),
        # ?posts=2 and ?events=2: the page of posts, of timeline entries, before the latest ("show earlier").
        **selectors.case_detail(case=case, posts_page=int_param(request, "posts"),
                                events_page=int_param(request, "events")),
        **journey_context(request, case, forms),
        # Who this author may be (customers.matching): the agent confirms or rejects on this page.
        "match_suggestions": customer_suggestions.pending_for(customer_id=case.customer_id),
    }
    return render(request, "feedback/case_detail.html", context, status=status)
