from datetime import timedelta

from django import forms

from feedback.board.days import today
from feedback.board.selectors import PERIOD_CHOICES, Period, period_of


class PeriodForm(forms.Form):
    """The dashboard's period: the last N days up to an end day (today by default)."""

    days = forms.TypedChoiceField(
        label="Period", coerce=int, initial=30, required=False,
        choices=[(days, f"{days} days" if days != 365 else "12 months") for days in PERIOD_CHOICES],
    )
    end = forms.DateField(label="Up to", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="The last day of the period (today when empty).")

    def clean_end(self):
        end = self.cleaned_data.get("end")
        if end and end > today() + timedelta(days=1):
            raise forms.ValidationError("The period cannot end in the future.")
        if end and end.year < 2000:
            raise forms.ValidationError("Choose a day after 2000.")
        return end

    def period(self) -> Period:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return period_of(days=data.get("days") or 30, end=data.get("end") or None)
