from django import forms

from feedback.integrations.scopes import Scope


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The integration, e.g. “Salesforce sync”.")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)
    rate_per_minute = forms.IntegerField(
        min_value=1, max_value=1_000_000, required=False, label="Requests per minute",
        help_text="Empty: the default (BATON_API_RATE_PER_MINUTE).")
