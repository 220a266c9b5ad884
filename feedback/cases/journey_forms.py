"""Forms of the journey: handoff decisions, feedback up, customer stage, problems."""

from decimal import Decimal

from django import forms

from customers.models import Stage
from feedback.cases.forms import CaseActionForm, OtherDepartmentForm, ResolveForm
from feedback.cases.journey import OUTCOME_PURCHASE, OUTCOMES, PURCHASE_DEPARTMENTS, STAGE_TRANSITIONS
from feedback.cases.models import Problem
from feedback.choices import ProblemStatus
from teams.models import Department


class ReturnHandoffForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, label="Reason for sending it back",
        error_messages={"required": "Say why the case is not for your department, so the sender knows what to do."},
    )

    def __init__(self, *args, handoff=None, **kwargs):
        kwargs.setdefault("auto_id", f"return_{handoff.pk if handoff else 'x'}_%s")
        super().__init__(*args, **kwargs)


class OutcomeResolveForm(ResolveForm):
    """The resolve form; a sales case can be resolved with a purchase (the customer's stage follows)."""

    outcome = forms.ChoiceField(choices=OUTCOMES, required=False, label="Outcome")
    amount = forms.DecimalField(required=False, min_value=Decimal("0.01"), max_digits=12, decimal_places=2,
                                label="Purchase amount")

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        if case is None or case.department.slug not in PURCHASE_DEPARTMENTS:
            del self.fields["outcome"]
            del self.fields["amount"]

    def clean(self):
        data = super().clean()
        data.setdefault("outcome", "")
        data.setdefault("amount", None)
        if data.get("amount") is not None and data["outcome"] != OUTCOME_PURCHASE:
            self.add_error("amount", "An amount goes with a purchase: choose that outcome, or leave it empty.")
        return data


class FeedbackUpForm(OtherDepartmentForm):
    action = "feedback"
    to_department = forms.ModelChoiceField(
        queryset=Department.objects.none(), label="Feedback to", empty_label="Choose a department",
        error_messages={"required": "Choose the department the feedback is for."},
    )
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, label="Feedback",
        error_messages={"required": "Write what the other department should know or change."},
    )


class ProblemLinkForm(CaseActionForm):
    action = "problem"
    problem = forms.ModelChoiceField(
        queryset=Problem.objects.none(), required=False, label="Open problem", empty_label="A new problem",
    )
    title = forms.CharField(max_length=200, required=False, label="New problem title")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False,
                                  label="New problem description")

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = Problem.objects.filter(status=ProblemStatus.OPEN).select_related("owner_department")
        if case is not None and case.problem_id:
            queryset = queryset.exclude(pk=case.problem_id)
        self.fields["problem"].queryset = queryset.order_by("owner_department__name", "title")
        self.fields["problem"].label_from_instance = lambda problem: f"#{problem.pk} {problem.title} ({problem.owner_department})"

    def clean(self):
        data = super().clean()
        if not data.get("problem") and not (data.get("title") or "").strip():
            raise forms.ValidationError("Choose an open problem, or write a title for a new one.")
        return data


class StageForm(CaseActionForm):
    action = "stage"
    to = forms.ChoiceField(choices=(), label="Move to stage",
                           error_messages={"required": "Choose the customer's new stage."})
    reason = forms.CharField(max_length=500, label="Why",
                             error_messages={"required": "Say why the customer's stage changes."})

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        current = case.customer.stage if case is not None else Stage.PROSPECT
        self.fields["to"].choices = [("", "Choose a stage")] + [
            (stage.value, stage.label) for stage in Stage if stage in STAGE_TRANSITIONS.get(current, set())
        ]


class ResolveProblemForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, label="What fixed it",
        error_messages={"required": "Say what fixed the underlying cause."},
    )
    resolve_cases = forms.BooleanField(
        required=False, initial=True, label="Resolve the linked open cases too",
        help_text="Otherwise each linked case gets a note on its timeline and stays open.",
    )
