from django import forms

from teams.models import Department


class ReplyForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Public reply")


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, label="Internal note")


class HandoffForm(forms.Form):
    to_department = forms.ModelChoiceField(queryset=Department.objects.none(), label="Hand off to")
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=4000,
        help_text="Required: what the receiving team needs to know.",
    )

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = Department.objects.all()
        if case is not None:
            queryset = queryset.exclude(pk=case.department_id)
        self.fields["to_department"].queryset = queryset


class ResolveForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False,
                           label="Resolution note")
