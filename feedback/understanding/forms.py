"""Forms of the understanding pages: a label correction, a promise."""

from django import forms

from feedback.choices import Label
from feedback.understanding.promises import clean_lines
from teams.models import Department


class LabelCorrectionForm(forms.Form):
    """One label of one mention; the value is checked by `labels.parse_label_value` in the service."""

    label = forms.ChoiceField(choices=Label.choices)
    value = forms.CharField(required=False, max_length=100, strip=True)


class LinesField(forms.CharField):
    """A textarea of one item a line, cleaned to a list (blank lines and repeats dropped)."""

    widget = forms.Textarea

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value):
        return clean_lines(super().to_python(value) or "")


class PromiseForm(forms.Form):
    name = forms.CharField(max_length=100, error_messages={"required": "Name the promise, as marketing says it."})
    slug = forms.SlugField(
        max_length=50, required=False,
        help_text="Stable id used by the model's labels and in reports. Letters, digits and underscores; "
                  "made from the name when empty. It cannot change later.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  help_text="What the company promises, in a sentence or two.")
    phrases = LinesField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False,
        help_text="One a line: the words customers use about it (\"delayed\", \"lost my bag\"). "
                  "Whole words; plurals and -ed/-ing endings match too; the longest phrase found wins.",
    )
    examples = LinesField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                          help_text="One a line: posts that are about this promise.")
    department = forms.ModelChoiceField(queryset=Department.objects.all(), required=False,
                                        empty_label="No department yet", label="Delivered by")
    target = forms.CharField(max_length=200, required=False, label="Measurable target",
                             help_text="Optional, e.g. \"85% of flights within 15 minutes of schedule\".")
    is_active = forms.BooleanField(required=False, initial=True, label="Active",
                                   help_text="Only active promises are matched to new mentions.")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["slug"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_active") and "phrases" in cleaned and not cleaned["phrases"]:
            self.add_error("phrases", "Give at least one phrase: without any, no post can be matched to it.")
        return cleaned
