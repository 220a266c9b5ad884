"""The app's models live in its rooms; Django discovers them through this module."""

from feedback.cases.models import Case, CaseEvent, FeedbackNote, Handoff, Problem
from feedback.intake.models import Account, AccountPlatform, InboundPayload, Mention, RejectedDeliveryCount
from feedback.integrations.models import ApiToken, IdempotencyRecord
from feedback.replies.models import CannedResponse, OutboxMessage, Reply, SendingCredential
from feedback.routing.models import RoutingRule
from feedback.sla.models import Escalation, Notification, SlaClock, SlaPolicy
from feedback.understanding.models import LabelCorrection, Promise

__all__ = [
    "Account",
    "AccountPlatform",
    "ApiToken",
    "CannedResponse",
    "Case",
    "CaseEvent",
    "Escalation",
    "FeedbackNote",
    "Handoff",
    "IdempotencyRecord",
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
