"""The app's models live in its rooms; Django discovers them through this module."""

from feedback.board.models import (
    CaseRollup,
    DurationRollup,
    EscalationRollup,
    FeedbackRollup,
    HandoffRollup,
    MentionRollup,
    ProblemRollup,
    PromiseRollup,
    RegionRollup,
    RollupDay,
    RollupDirtyDay,
    SlaRollup,
    SuggestedProblem,
    VolumeRollup,
)
from feedback.cases.models import Case, CaseEvent, FeedbackNote, Handoff, Problem, SavedView
from feedback.intake.models import Account, AccountPlatform, InboundPayload, Mention, RejectedDeliveryCount
from feedback.integrations.models import ApiToken, IdempotencyRecord
from feedback.replies.models import CannedResponse, OutboxMessage, Reply, SendingCredential
from feedback.routing.models import RoutingRule
from feedback.sla.models import Escalation, Notification, NotificationSettings, SlaClock, SlaPolicy
from feedback.understanding.models import LabelCorrection, Promise

__all__ = [
    "Account",
    "AccountPlatform",
    "ApiToken",
    "CannedResponse",
    "Case",
    "CaseEvent",
    "CaseRollup",
    "DurationRollup",
    "EscalationRollup",
    "FeedbackRollup",
    "HandoffRollup",
    "MentionRollup",
    "ProblemRollup",
    "PromiseRollup",
    "RegionRollup",
    "RollupDay",
    "RollupDirtyDay",
    "SlaRollup",
    "SuggestedProblem",
    "VolumeRollup",
    "Escalation",
    "FeedbackNote",
    "Handoff",
    "IdempotencyRecord",
    "InboundPayload",
    "LabelCorrection",
    "Mention",
    "Notification",
    "OutboxMessage",
    "NotificationSettings",
    "Problem",
    "Promise",
    "RejectedDeliveryCount",
    "Reply",
    "RoutingRule",
    "SendingCredential",
    "SavedView",
    "SlaClock",
    "SlaPolicy",
]
