"""Forms of the routing rule pages (feedback/routing/views.py)."""

from datetime import timedelta

from django import forms

from customers.models import Stage
from feedback.choices import Intent, Priority, Source
from feedback.routing.models import RoutingRule
from feedback.understanding.models import Promise
from teams.models import Assignment, Department
from teams.selectors import headed_departments

TRI_STATE = [("", "Either"), ("true", "Yes"), ("false", "No")]
CONDITION_FIELDS = [
    "intents", "is_complaint", "is_spam", "sentiment_min", "sentiment_max", "promises", "customer_stages",
    "customer_value_min", "customer_value_max", "followers_min", "sources", "languages", "keywords", "priorities",
]


def _tri_state(value):
    return {"true": True, "false": False}.get(value)


class CommaListField(forms.CharField):
    """A list of short words typed as "a, b, c"."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        return [part.strip() for part in (value or "").split(",") if part.strip()]


class RoutingRuleForm(forms.ModelForm):
    intents = forms.MultipleChoiceField(choices=Intent.choices, required=False, widget=forms.CheckboxSelectMultiple)
    is_complaint = forms.TypedChoiceField(choices=TRI_STATE, required=False, coerce=_tri_state, empty_value=None,
                                          label="Is a complaint")
    is_spam = forms.TypedChoiceField(choices=TRI_STATE, required=False, coerce=_tri_state, empty_value=None,
                                     label="Is spam")
    customer_stages = forms.MultipleChoiceField(choices=Stage.choices, required=False,
                                                widget=forms.CheckboxSelectMultiple)
    sources = forms.MultipleChoiceField(choices=Source.choices, required=False, widget=forms.CheckboxSelectMultiple)
    priorities = forms.MultipleChoiceField(choices=Priority.choices, required=False,
                                           widget=forms.CheckboxSelectMultiple)
    languages = CommaListField(required=False, help_text="ISO 639 codes, e.g. en, fr, de.")
    tags = CommaListField(required=False, help_text="Comma separated, e.g. legal-review, vip.")
    promises = forms.ModelMultipleChoiceField(queryset=Promise.objects.all(), required=False,
                                              widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = RoutingRule
        fields = [
            "name", "is_active", *CONDITION_FIELDS,
            "department", "priority_override", "tags", "assign_to_lead", "require_approval", "monitor_only",
        ]
        widgets = {"keywords": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user=None, **kwargs):
        """`user`: the head editing; the department choices are the departments they head (all for a
        superuser or no user), and only a superuser makes a rule monitor-only (it applies to every department)."""
        super().__init__(*args, **kwargs)
        superuser = user is None or user.is_superuser
        self.fields["department"].queryset = (
            Department.objects.order_by("name") if superuser else headed_departments(user=user)
        )
        if not superuser and "monitor_only" in self.fields:
            del self.fields["monitor_only"]
        if self.instance.pk:
            self.initial["is_complaint"] = {True: "true", False: "false"}.get(self.instance.is_complaint, "")
            self.initial["is_spam"] = {True: "true", False: "false"}.get(self.instance.is_spam, "")
        if self.instance.is_default:  # the default catches the rest: actions only, always active
            for name in [*CONDITION_FIELDS, "is_active", "monitor_only"]:
                del self.fields[name]

    def clean(self):
        data = super().clean()
        for low, high, label in [("sentiment_min", "sentiment_max", "sentiment"),
                                 ("customer_value_min", "customer_value_max", "customer value")]:
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                self.add_error(high, f"The {label} maximum is below the minimum.")
        for name in ("sentiment_min", "sentiment_max"):
            if data.get(name) is not None and not -1 <= data[name] <= 1:
                self.add_error(name, "Sentiment runs from -1 to 1.")
        if not data.get("monitor_only") and not data.get("department"):
            self.add_error("department", "Choose the department that gets the case (or tick monitor only).")
        if data.get("monitor_only"):
            data["department"] = None
        return data


class DepartmentSettingsForm(forms.Form):
    assignment = forms.ChoiceField(choices=Assignment.choices, label="Assign new cases")
    reopen_window_days = forms.IntegerField(
        min_value=0, max_value=365, label="Reopen window (days)",
        help_text="A post this many days after a case was resolved reopens it; later, a new case opens.",
    )

    def __init__(self, *args, department: Department, **kwargs):
        kwargs.setdefault("prefix", f"dept{department.pk}")
        kwargs.setdefault("initial", {"assignment": department.assignment,
                                      "reopen_window_days": department.reopen_window.days})
        super().__init__(*args, **kwargs)
        self.department = department

    @property
    def reopen_window(self) -> timedelta:
        return timedelta(days=self.cleaned_data["reopen_window_days"])
