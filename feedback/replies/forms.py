from django import forms

from feedback.choices import Assessment
from feedback.replies.models import CannedResponse, ReplyKind
from feedback.replies.rules import CONSIDERATIONS, PRIVATE_CHANNELS
from feedback.replies.templating import FIELDS, unknown_fields
from teams.models import Department, Role

# The composer offers the case's latest posts to answer.
REPLY_TO_POSTS = 10


class ComposeForm(forms.Form):
    """The reply composer. `seen_event` and `seen_reply` are what the page saw when it was rendered
    (collision detection); `considerations` is the five-point checklist."""

    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "id": "reply_text"}), max_length=8000, label="Reply",
        error_messages={"required": "Write the reply the customer will see."},
    )
    in_reply_to = forms.TypedChoiceField(choices=(), coerce=int, required=False, empty_value=None, label="In reply to")
    kind = forms.ChoiceField(choices=ReplyKind.choices, initial=ReplyKind.PUBLIC, label="Send as",
                             widget=forms.RadioSelect)
    considerations = forms.MultipleChoiceField(
        choices=CONSIDERATIONS, widget=forms.CheckboxSelectMultiple, label="Before sending, I checked",
        error_messages={"required": "Tick the five considerations once you have checked each."},
    )
    canned = forms.IntegerField(required=False, widget=forms.HiddenInput)
    seen_event = forms.IntegerField(required=False, widget=forms.HiddenInput)
    seen_reply = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, case=None, marks=None, posts=None, **kwargs):
        """`posts`: the case's latest posts, newest first, when the caller has them (the case page)."""
        kwargs.setdefault("auto_id", "reply_%s")
        super().__init__(*args, **kwargs)
        latest = []
        if case is not None:  # the latest posts only: a case can collect thousands
            latest = list(posts[:REPLY_TO_POSTS]) if posts is not None else list(
                case.mentions.order_by("-posted_at", "-id")[:REPLY_TO_POSTS])
        self.case = case
        self.fields["in_reply_to"].choices = [
            (post.pk, f"@{post.author_handle or '?'} · {post.posted_at:%b %-d %H:%M} · {post.text[:70]}")
            for post in latest
        ]
        self.post_choices = len(latest)  # the template offers a choice when there is one
        self.private_possible = bool(latest) and latest[0].source in PRIVATE_CHANNELS
        if not self.private_possible:
            self.fields["kind"].choices = [(ReplyKind.PUBLIC, ReplyKind.PUBLIC.label)]
            self.fields["kind"].widget = forms.HiddenInput()
        if marks and not self.is_bound:
            self.initial.update(marks)

    def clean_in_reply_to(self):
        """The post answered, as a Mention of this case (None: the service answers the latest)."""
        pk = self.cleaned_data.get("in_reply_to")
        if pk is None or self.case is None:
            return None
        return self.case.mentions.filter(pk=pk).first()

    def refresh_marks(self, marks: dict) -> None:
        """After a collision: the page now shows what arrived, so a second press sends."""
        data = self.data.copy()
        for key, value in marks.items():
            data[key] = str(value)
        self.data = data


class ApproveForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=8000, label="Reply (edit if needed)",
                           error_messages={"required": "The reply cannot be empty: reject it instead."})

    def __init__(self, *args, reply=None, **kwargs):
        kwargs.setdefault("auto_id", f"approve_{reply.pk if reply else 'x'}_%s")
        super().__init__(*args, **kwargs)
        if reply is not None and not self.is_bound:
            self.initial["text"] = reply.text


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label="Reason",
                             error_messages={"required": "Say what the author should change."})

    def __init__(self, *args, reply=None, **kwargs):
        kwargs.setdefault("auto_id", f"reject_{reply.pk if reply else 'x'}_%s")
        super().__init__(*args, **kwargs)


class CannedForm(forms.ModelForm):
    class Meta:
        model = CannedResponse
        fields = ["department", "assessment", "title", "text", "is_active"]
        widgets = {"text": forms.Textarea(attrs={"rows": 5})}
        labels = {"assessment": "For posts assessed as", "is_active": "Offered in the composer"}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        departments = Department.objects.order_by("name")
        if user is not None and not user.is_superuser:
            departments = departments.filter(memberships__user=user,
                                             memberships__role__in=[Role.LEAD, Role.HEAD]).distinct()
        self.fields["department"].queryset = departments
        self.fields["assessment"].choices = [("", "Any assessment"), *Assessment.choices]
        self.fields["text"].help_text = "Fields: " + ", ".join(f"{{{{ {name} }}}} ({what})" for name, what in FIELDS.items())

    def clean_text(self):
        text = self.cleaned_data["text"]
        unknown = unknown_fields(text)
        if unknown:
            raise forms.ValidationError(f"Unknown field(s): {', '.join(unknown)}.")
        return text
