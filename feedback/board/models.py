"""The board's rollups: what the dashboard reads instead of raw mentions and cases.

Every row is one day (in settings.TIME_ZONE) of one combination of dimensions, with counts and
sums. `feedback.board.rollups.refresh_days` recomputes whole days from the raw rows (delete the
day's rows, insert them again), so a rollup is always exactly what a direct count over that day
gives; `RollupDirtyDay` is the queue of days to recompute (`feedback.board.upkeep`).

Ids of promises, departments and problems are plain integers, not foreign keys: a rollup row
outlives nothing and locks nothing, and `rebuild_rollups` repairs whatever a deletion left behind.
What a day holds: mentions by the day they were posted; cases in the cohort of the day they were
created (their first reply, SLA clocks and problem); the journey's events by the day they happened:
handoffs and feedback-up notes by the day they were made (with what became of them: accepted or sent
back, the acceptance time, acknowledged), escalations by the day they fired.
"""

from django.db import models


class DayRow(models.Model):
    """A row about one day."""

    day = models.DateField()

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self._meta.verbose_name} of {self.day}"


class RollupDirtyDay(DayRow):
    """A day whose rollups must be recomputed. Append-only: a writer inserts a row in its own
    transaction (no unique constraint, so no writer ever waits for another), the refresh deletes
    the rows it can see and recomputes their days."""


class RollupDay(models.Model):
    """One row per day that was ever refreshed: its lock serialises two refreshes of one day."""

    day = models.DateField(unique=True)
    refreshed_at = models.DateTimeField()

    def __str__(self):
        return f"Rollups of {self.day}"


class MentionRollup(DayRow):
    """The cube: mentions per day x promise x department (of the mention's case) x region x intent x
    sentiment x source. Narrower projections below serve the panels."""

    promise_id = models.BigIntegerField(null=True)
    department_id = models.BigIntegerField(null=True)
    region = models.CharField(max_length=40, blank=True)
    intent = models.CharField(max_length=20, blank=True)
    sentiment = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=20, blank=True)
    mentions = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="mentionrollup_day")]


class PromiseRollup(DayRow):
    """Mentions about a promise per day x promise x sentiment: the gap index and its trend."""

    promise_id = models.BigIntegerField()
    sentiment = models.CharField(max_length=10, blank=True)
    mentions = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day", "promise_id"], name="promiserollup_day")]


class RegionRollup(DayRow):
    """Mentions about a promise and its shortfalls per day x promise x region: the heat grid."""

    promise_id = models.BigIntegerField()
    region = models.CharField(max_length=40, blank=True)
    mentions = models.PositiveIntegerField()
    shortfalls = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="regionrollup_day")]


class VolumeRollup(DayRow):
    """Mentions per day x intent x sentiment x source; `named_praise`: praise routed to hr
    (the routing rule for praise that names an employee)."""

    intent = models.CharField(max_length=20, blank=True)
    sentiment = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=20, blank=True)
    mentions = models.PositiveIntegerField()
    named_praise = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="volumerollup_day")]


class CaseRollup(DayRow):
    """Cases created per day x department (the case's department now): replied ones and the sum of
    their first reply times."""

    department_id = models.BigIntegerField()
    cases = models.PositiveIntegerField()
    replied = models.PositiveIntegerField()
    reply_seconds = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="caserollup_day")]


class EscalationRollup(DayRow):
    """SLA escalations fired per day x level (1 warning, 2 breach, 3 head, 4 board), whatever the
    case's age: the day an escalation fired never changes, so neither does its row."""

    level = models.PositiveSmallIntegerField()
    escalations = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="escalationrollup_day")]


class SlaRollup(DayRow):
    """SLA clocks of the cases created per day x department (whose policy) x metric: met (stopped,
    never breached), missed (breached), running (neither yet)."""

    department_id = models.BigIntegerField()
    metric = models.CharField(max_length=20)
    met = models.PositiveIntegerField()
    missed = models.PositiveIntegerField()
    running = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="slarollup_day")]


class DurationRollup(DayRow):
    """A histogram of waits per day: `first_reply` (cases created that day, by department) and
    `handoff_acceptance` (handoffs made that day and accepted, by from -> to department), in the
    buckets of `feedback.board.buckets`. Medians and 90th percentiles are read from it."""

    FIRST_REPLY = "first_reply"
    HANDOFF_ACCEPTANCE = "handoff_acceptance"

    measure = models.CharField(max_length=20)
    department_id = models.BigIntegerField()
    from_department_id = models.BigIntegerField(default=0)
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["measure", "day"], name="durationrollup_measure_day")]


class HandoffRollup(DayRow):
    """Handoffs made per day x from -> to department: made, accepted, returned, and the sum of
    acceptance times of the accepted ones."""

    from_department_id = models.BigIntegerField()
    to_department_id = models.BigIntegerField()
    handoffs = models.PositiveIntegerField()
    accepted = models.PositiveIntegerField()
    returned = models.PositiveIntegerField()
    accept_seconds = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="handoffrollup_day")]


class FeedbackRollup(DayRow):
    """Feedback-up notes sent per day x from -> to department x the promise of the note's case
    (the promise most of its mentions are about; null when none)."""

    from_department_id = models.BigIntegerField()
    to_department_id = models.BigIntegerField()
    promise_id = models.BigIntegerField(null=True)
    notes = models.PositiveIntegerField()
    acknowledged = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="feedbackrollup_day")]


class ProblemRollup(DayRow):
    """Cases created per day that a problem explains, per problem x the case's promise."""

    problem_id = models.BigIntegerField()
    promise_id = models.BigIntegerField(null=True)
    cases = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="problemrollup_day")]


class SuggestedProblem(models.Model):
    """A cluster of recent complaints that may share one cause, for a head to confirm as a problem.
    Written by `feedback.board.suggestions.refresh_suggestions` (the whole set is replaced)."""

    computed_at = models.DateTimeField()
    rank = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    terms = models.JSONField(default=list, help_text="The cluster's most characteristic words.")
    attributes = models.JSONField(default=dict, help_text="Shared attributes: {name: [value, share]}.")
    size = models.PositiveIntegerField()
    recent = models.PositiveIntegerField(help_text="Complaints in the recent half of the window.")
    earlier = models.PositiveIntegerField(help_text="Complaints in the earlier half of the window.")
    growth = models.FloatField()
    department_id = models.BigIntegerField(null=True, help_text="The department most of its cases are in.")
    mention_ids = models.JSONField(default=list, help_text="Up to 20 example mentions (department roles only).")

    class Meta:
        ordering = ["rank"]

    def __str__(self):
        return f"Suggested problem {self.rank}: {self.title}"
