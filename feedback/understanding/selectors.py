"""Reads for understanding: promises, a mention's labels, and the response guidance of the case page.

Who sees what: every department member sees the promise list, a promise and the posts matched
to it (public posts, no CRM data; a case link only where the user's departments own the case);
only marketing leads and heads (and superusers) manage promises (`feedback.understanding.permissions`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django.utils.dateformat import format as format_date

from feedback.choices import Assessment, ClockMetric, Intent, Label, Sentiment
from feedback.intake.models import Mention
from feedback.routing.services import HIGH_REACH_FOLLOWERS
from feedback.understanding.labels import CONFIDENCE_FIELDS, HUMAN_CONFIDENCE, current_value
from feedback.understanding.models import Promise

RECENT = timedelta(days=30)


# --- Promises -------------------------------------------------------------------------------


def promises_overview(*, now: datetime | None = None, since: datetime | None = None) -> list[Promise]:
    """Every promise (active first) with its department and, over the last 30 days, the mentions
    matched to it (`recent`), the negative ones (`shortfalls`) and the positive ones (`delights`). One query."""
    now = now or timezone.now()
    since = since or now - RECENT
    window = Q(mentions__received_at__gte=since, mentions__received_at__lt=now)
    return list(
        Promise.objects.select_related("department")
        .annotate(
            recent=Count("mentions", filter=window),
            shortfalls=Count("mentions", filter=window & Q(mentions__sentiment_label=Sentiment.NEGATIVE)),
            delights=Count("mentions", filter=window & Q(mentions__sentiment_label=Sentiment.POSITIVE)),
        )
        .order_by("-is_active", "name")
    )


def promise_by_slug(*, slug: str) -> Promise:
    promise = Promise.objects.select_related("department").filter(slug=slug).first()
    if promise is None:
        raise Http404("No such promise.")
    return promise


def promise_mentions(*, promise: Promise):
    """The posts matched to a promise, newest first (paginate it)."""
    return (
        Mention.objects.filter(promise=promise)
        .select_related("case", "case__department")
        .order_by("-received_at", "-id")
    )


# --- A mention's labels -------------------------------------------------------------------

YES_NO = [("true", "Yes"), ("false", "No")]
LANGUAGES = [
    ("en", "English"), ("es", "Spanish"), ("fr", "French"), ("de", "German"), ("pt", "Portuguese"),
    ("it", "Italian"), ("nl", "Dutch"), ("sv", "Swedish"), ("pl", "Polish"), ("tr", "Turkish"), ("ru", "Russian"),
    ("ar", "Arabic"), ("hi", "Hindi"), ("zh", "Chinese"), ("ja", "Japanese"), ("ko", "Korean"),
    ("und", "Undetermined"),
]
LANGUAGE_NAMES = dict(LANGUAGES)


@dataclass(frozen=True)
class LabelRow:
    label: str  # the Label value, also the form's `label`
    name: str
    value: str  # as the form posts it
    display: str
    confidence: float | None
    corrected: bool
    choices: list[tuple[str, str]]

    @property
    def confidence_percent(self) -> int | None:
        return None if self.confidence is None else round(self.confidence * 100)

    @property
    def unsure(self) -> bool:
        return self.confidence is not None and not self.corrected and self.confidence < 0.6


def promise_choices() -> list[tuple[str, str]]:
    """The promises a person can pick: the active ones (one query; the case page reads it once)."""
    return [("", "No promise"), *Promise.objects.filter(is_active=True).order_by("name").values_list("slug", "name")]


def label_rows(*, mention: Mention, promises: list[tuple[str, str]]) -> list[LabelRow]:
    """Each label of a mention with its confidence, whether a person set it, and the values to choose from."""
    corrected = set(mention.corrected_labels or [])
    choices = {
        Label.SENTIMENT: list(Sentiment.choices),
        Label.INTENT: list(Intent.choices),
        Label.COMPLAINT: YES_NO,
        Label.PROMISE: list(promises),
        Label.SPAM: YES_NO,
        Label.LANGUAGE: list(LANGUAGES),
        Label.ASSESSMENT: list(Assessment.choices),
    }
    rows = []
    for label in Label:
        current = current_value(mention, label)
        options = choices[label]
        if current.text and current.text not in {value for value, _ in options}:
            options = [*options, (current.text, current.display)]  # an inactive promise, a rare language
        display = current.display
        if label == Label.LANGUAGE and current.text:
            display = LANGUAGE_NAMES.get(current.text, current.text)
        field = CONFIDENCE_FIELDS.get(label)
        confidence = getattr(mention, field) if field else None
        if label == Label.PROMISE and not current.text:
            confidence = None  # "no promise" has no confidence of its own
        rows.append(LabelRow(
            label=label.value, name=label.label, value=current.text, display=display,
            confidence=HUMAN_CONFIDENCE if label in corrected else confidence, corrected=label in corrected,
            choices=options,
        ))
    return rows


# --- Response guidance (the assessment and the five considerations) --------------------------

RESPONSES = {
    Assessment.IGNORE: ("No reply", "Not about us (spam or advertising): no reply, nothing to do."),
    Assessment.CONCUR: ("Concur", "Thank them and share or like the post; add a useful fact if there is one."),
    Assessment.MONITOR_ONLY: ("Monitor only", "Do not reply. Keep an eye on it and tell your lead."),
    Assessment.FIX_FACTS: ("Fix the facts", "Reply politely with the correct facts and link where they come from."),
    Assessment.RECTIFY: ("Rectify", "Restore the relationship: apologise, put it right for this customer, and act "
                                    "on the cause."),
}
_TONE = {
    Assessment.IGNORE: "No reply.",
    Assessment.CONCUR: "Warm and personal: use their name and thank them; no sales pitch.",
    Assessment.MONITOR_ONLY: "No reply. If your lead decides to answer, one calm, brief message, never sarcasm.",
    Assessment.FIX_FACTS: "Polite and factual: correct the claim, not the person; no blame.",
    Assessment.RECTIFY: "Calm and human: say sorry for the experience, no defensiveness, no copy-paste.",
}
_SOURCING = {
    Assessment.IGNORE: "Nothing to source.",
    Assessment.CONCUR: "No source needed; if you add a fact, link it.",
    Assessment.MONITOR_ONLY: "No reply, so nothing to source: note on the case what was claimed.",
    Assessment.FIX_FACTS: "Link the page that states the facts (policy, fees, schedule) so anyone can check.",
    Assessment.RECTIFY: "Say what you will check and when; ask for booking details only by private message.",
}


@dataclass(frozen=True)
class Guidance:
    assessment: str
    title: str
    summary: str
    considerations: list[tuple[str, str]]
    replies: bool


def _duration(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def _when(moment: datetime) -> str:
    return format_date(timezone.localtime(moment), "M j, H:i")


def _timeliness(*, mention: Mention, case, clocks, now: datetime, replies: bool) -> str:
    if not replies:
        return "No reply needed; keep watching the thread for new posts."
    if case is not None and case.first_replied_at:
        return f"First reply sent {_when(case.first_replied_at)}; answer follow-ups as fast."
    running = [clock for clock in clocks or [] if clock.metric == ClockMetric.FIRST_REPLY and clock.stopped_at is None]
    if running:
        due = running[0].due_at
        left = due - now
        when = _when(due)
        if left.total_seconds() <= 0:
            return f"First reply overdue by {_duration(left)} (due {when}): reply now."
        return f"First reply due in {_duration(left)} (by {when})."
    return f"Posted {_duration(now - mention.posted_at)} ago: reply soon, people expect an answer within the hour."


def _influence(mention: Mention) -> str:
    who = f"@{mention.author_handle}" if mention.author_handle else "The author"
    followers = mention.author_followers
    if followers is None:
        return f"{who}: follower count unknown."
    text = f"{who} has {followers:,} follower{'s' if followers != 1 else ''}"
    if followers >= HIGH_REACH_FOLLOWERS:
        return text + ": high reach, many will see your reply; have a lead read it first."
    if followers < 100:
        return text + ": a small audience; move to a private message once it gets personal."
    return text + "."


def response_guidance(*, mention: Mention, case=None, clocks=None, now: datetime | None = None) -> Guidance:
    """The recommended response for a mention and the five considerations every reply honours,
    with the concrete advice for this mention."""
    now = now or timezone.now()
    assessment = mention.assessment or Assessment.CONCUR
    title, summary = RESPONSES.get(assessment, RESPONSES[Assessment.CONCUR])
    replies = assessment not in (Assessment.IGNORE, Assessment.MONITOR_ONLY)
    department = case.department.name if case is not None else "your team"
    transparency = (
        f"Say who you are: your first name and that you are with {department}." if replies
        else "If your lead decides to answer, say who you are and that you speak for the company."
    )
    tone = _TONE.get(assessment, _TONE[Assessment.CONCUR])
    if mention.language and mention.language not in ("en", "und"):
        tone += f" They wrote in {LANGUAGE_NAMES.get(mention.language, mention.language)}: answer in it if you can."
    return Guidance(
        assessment=assessment, title=title, summary=summary, replies=replies,
        considerations=[
            ("Transparency", transparency),
            ("Sourcing", _SOURCING.get(assessment, _SOURCING[Assessment.CONCUR])),
            ("Timeliness", _timeliness(mention=mention, case=case, clocks=clocks, now=now, replies=replies)),
            ("Tone", tone),
            ("Influence", _influence(mention)),
        ],
    )


def mention_panel(*, mention: Mention, case=None, clocks=None, promises: list[tuple[str, str]],
                  now: datetime | None = None) -> dict:
    """What the case page shows about one mention: its labels and the recommended response."""
    return {
        "mention": mention,
        "case": case,
        "rows": label_rows(mention=mention, promises=promises),
        "guidance": response_guidance(mention=mention, case=case, clocks=clocks, now=now),
    }
