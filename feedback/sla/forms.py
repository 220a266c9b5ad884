from django import forms

from feedback.sla.models import Notification, NotificationSettings


class PersonalSettingsForm(forms.Form):
    """The personal settings page: away status and which notification e-mails, how."""

    away = forms.BooleanField(required=False, label="I am away: give new cases to my colleagues")
    email_mode = forms.ChoiceField(choices=NotificationSettings.Mode.choices, widget=forms.RadioSelect,
                                   label="Notification e-mails")
    email_kinds = forms.MultipleChoiceField(choices=Notification.Kind.choices, required=False,
                                            widget=forms.CheckboxSelectMultiple, label="E-mail me about")


class NotificationFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Every kind"), *Notification.Kind.choices], required=False, label="Kind")
    unread = forms.BooleanField(required=False, label="Unread only")
