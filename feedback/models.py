"""The app's models live in its rooms; Django discovers them through this module."""

from feedback.board.models import (
    CaseRollup,
    DurationRollup,
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
from feedback.cases.models import Case, CaseEvent, FeedbackNote, Handoff, Problem
from feedback.intake.models import Account, AccountPlatform, InboundPayload, Mention, RejectedDeliveryCount
from feedback.replies.models import CannedResponse, OutboxMessage, Reply, SendingCredential
from feedback.routing.models import RoutingRule
from feedback.sla.models import Escalation, Notification, SlaClock, SlaPolicy
from feedback.understanding.models import LabelCorrection, Promise

__all__ = [
    "Account",
    "AccountPlatform",
    "CannedResponse",
    "Case",
    "CaseEvent",
    "CaseRollup",
    "DurationRollup",
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
    "InboundPayload",
    "LabelCorrection",
    "Mention",
    "Notification",
    "OutboxMessage",
    "Problem",
    "Promise",
    "RejectedDeliveryCount",
    "Reply",
    "RoutingRule",
    "SendingCredential",
    "SlaClock",
    "SlaPolicy",
]
