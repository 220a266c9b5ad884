from django.db import models


class Source(models.TextChoices):
    X = "x", "X (Twitter)"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    REVIEW = "review", "Review"
    API = "api", "API"
    IMPORT = "import", "Import"


class MentionStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neutral"
    POSITIVE = "positive", "Positive"


class Intent(models.TextChoices):
    COMPLAINT = "complaint", "Complaint"
    QUESTION = "question", "Question"
    PRAISE = "praise", "Praise"
    IDEA = "idea", "Idea"
    PURCHASE_INTENT = "purchase_intent", "Purchase intent"
    WARRANTY_RETURN = "warranty_return", "Warranty / return"
    PRESS = "press", "Press"
    SPAM_TROLL = "spam_troll", "Spam / troll"
    OTHER = "other", "Other"


class Priority(models.TextChoices):
    URGENT = "urgent", "Urgent"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending (waiting on customer)"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING)


class EventKind(models.TextChoices):
    CREATED = "created", "Case created"
    MENTION = "mention", "Mention attached"
    NOTE = "note", "Note"
    HANDOFF = "handoff", "Handed off"
    ACCEPTED = "accepted", "Handoff accepted"
    REPLY = "reply", "Reply"
    STATUS = "status", "Status changed"
    ESCALATION = "escalation", "Escalation"
    RETURNED = "returned", "Handoff sent back"
    FEEDBACK = "feedback", "Feedback up"
    ACKNOWLEDGED = "acknowledged", "Feedback acknowledged"
    STAGE = "stage", "Customer stage changed"
    PROBLEM = "problem", "Linked to a problem"
    PROBLEM_FIX = "problem_fix", "Problem resolved"
    ASSIGNED = "assigned", "Assigned"
    PRIORITY = "priority", "Priority changed"
    APPROVAL = "approval", "Reply approval"
    SEND_FAILED = "send_failed", "Reply not sent"


class HandoffStatus(models.TextChoices):
    PENDING = "pending", "Pending acceptance"
    ACCEPTED = "accepted", "Accepted"
    RETURNED = "returned", "Sent back"


class ProblemStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class ClockMetric(models.TextChoices):
    FIRST_REPLY = "first_reply", "First reply"
    NEXT_REPLY = "next_reply", "Next reply"
    RESOLUTION = "resolution", "Resolution"
    HANDOFF_ACCEPTANCE = "handoff_acceptance", "Handoff acceptance"


# Clocks the customer waits on: they pause while the case is pending (waiting on the customer).
CUSTOMER_CLOCKS = (ClockMetric.FIRST_REPLY, ClockMetric.NEXT_REPLY, ClockMetric.RESOLUTION)
# Clocks every new case starts with.
CASE_CLOCKS = (ClockMetric.FIRST_REPLY, ClockMetric.RESOLUTION)


class Assessment(models.TextChoices):
    """The US Air Force web posting response assessment (domain guide)."""

    IGNORE = "ignore", "Ignore"
    CONCUR = "concur", "Concur"
    MONITOR_ONLY = "monitor_only", "Monitor only"
    FIX_FACTS = "fix_facts", "Fix the facts"
    RECTIFY = "rectify", "Rectify"


class Label(models.TextChoices):
    """The labels understanding gives a mention that a person may correct."""

    SENTIMENT = "sentiment_label", "Sentiment"
    INTENT = "intent", "Intent"
    COMPLAINT = "is_complaint", "Complaint"
    PROMISE = "promise", "Promise"
    SPAM = "is_spam", "Spam / troll"
    LANGUAGE = "language", "Language"
    ASSESSMENT = "assessment", "Assessment"
