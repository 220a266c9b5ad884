from django import forms

from feedback.cases.actions import BULK_ACTIONS
from feedback.choices import Priority
from teams.models import Department


class CaseActionForm(forms.Form):
    """The case page shows several action forms at once: each gets its own element ids."""

    action = ""

    def __init__(self, *args, case=None, **kwargs):
        kwargs.setdefault("auto_id", f"{self.action}_%s")
        super().__init__(*args, **kwargs)


class ReplyForm(CaseActionForm):
    action = "reply"
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Public reply",
        error_messages={"required": "Write the reply the customer will see."},
    )


class NoteForm(CaseActionForm):
    action = "note"
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, label="Internal note",
        error_messages={"required": "Write the note for your colleagues."},
    )


class OtherDepartmentForm(CaseActionForm):
    """A case action aimed at another department (`to_department`): offers all but the case's own."""

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        queryset = Department.objects.all()
        if case is not None:
            queryset = queryset.exclude(pk=case.department_id)
        self.fields["to_department"].queryset = queryset


class HandoffForm(OtherDepartmentForm):
    action = "handoff"
    to_department = forms.ModelChoiceField(
        queryset=Department.objects.none(), label="Hand off to", empty_label="Choose a department",
        error_messages={"required": "Choose the department that should take the case."},
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=4000,
        help_text="Required: what the receiving team needs to know.",
        error_messages={"required": "Write a note for the receiving team: what happened and what they should do next."},
    )


class ResolveForm(CaseActionForm):
    action = "resolve"
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False,
                           label="Resolution note")


class TakeForm(CaseActionForm):
    action = "take"


class ResumeForm(CaseActionForm):
    action = "resume"


class AssignForm(CaseActionForm):
    """Assign to a member of the case's department (empty: unassigned)."""

    action = "assign"
    assignee = forms.ModelChoiceField(queryset=None, required=False, label="Assign to", empty_label="Nobody (unassigned)")

    def __init__(self, *args, case=None, **kwargs):
        from django.contrib.auth import get_user_model

        super().__init__(*args, case=case, **kwargs)
        users = get_user_model().objects.filter(is_active=True)
        users = users.filter(memberships__department_id=case.department_id) if case is not None else users.none()
        self.fields["assignee"].queryset = users.order_by("first_name", "last_name", "username").distinct()
        self.fields["assignee"].label_from_instance = lambda user: user.get_full_name() or user.get_username()
        if case is not None and not self.is_bound:
            self.initial["assignee"] = case.assignee_id


class PriorityForm(CaseActionForm):
    action = "priority"
    priority = forms.ChoiceField(choices=(), label="Priority")

    def __init__(self, *args, case=None, **kwargs):
        from feedback.choices import Priority

        super().__init__(*args, case=case, **kwargs)
        self.fields["priority"].choices = Priority.choices
        if case is not None and not self.is_bound:
            self.initial["priority"] = case.priority


class PendingForm(CaseActionForm):
    action = "pending"
    note = forms.CharField(max_length=500, required=False, label="Waiting for",
                           help_text="What the customer should send or do (optional).")
class BulkActionForm(forms.Form):
    """The inbox's bulk actions: one action on the checked cases (`feedback.cases.actions.bulk_apply`)."""

    action = forms.ChoiceField(label="Action", choices=[])
    assignee = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Assign to", choices=[])
    priority = forms.ChoiceField(required=False, label="Priority", choices=[("", "Priority...")])
    to_department = forms.ModelChoiceField(queryset=Department.objects.order_by("name"), required=False,
                                           label="Hand off to", empty_label="Hand off to...")
    note = forms.CharField(required=False, max_length=4000, label="Note or reason",
                           widget=forms.TextInput(attrs={"placeholder": "Note or reason (required for a handoff)"}))
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, members=(), may_assign: bool = True, **kwargs):
        """`may_assign`: the user leads or heads a department (only they assign cases to others); for
        the others the assign action and its menu are left out, and an "assign" sent anyway is refused."""
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        self.may_assign = may_assign
        self.fields["action"].choices = [("", "Bulk action...")] + [
            (value, label) for value, label in BULK_ACTIONS.items() if may_assign or value != "assign"]
        self.fields["action"].error_messages["invalid_choice"] = (
            "Only a lead or head assigns cases to others: take the cases instead." if not may_assign
            else "Choose a bulk action.")
        self.fields["action"].error_messages["required"] = "Choose a bulk action."
        self.fields["assignee"].choices = [("", "Nobody (unassign)")] + [(str(pk), name) for pk, name in members]
        self.fields["priority"].choices = [("", "Priority...")] + list(Priority.choices)
        if not may_assign:
            del self.fields["assignee"]

    def clean_next(self):
        value = self.cleaned_data.get("next") or ""
        return value if value.startswith("/inbox/") and "//" not in value else ""


class SavedViewForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "view_%s")
        super().__init__(*args, **kwargs)

    name = forms.CharField(max_length=80, label="Save this view as",
                           error_messages={"required": "Name the view."})
    query = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)
