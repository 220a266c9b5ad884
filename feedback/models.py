"""The app's models live in its rooms; Django discovers them through this module."""

from feedback.cases.models import Case, CaseEvent, FeedbackNote, Handoff, Problem, SavedView
from feedback.intake.models import Account, AccountPlatform, InboundPayload, Mention, RejectedDeliveryCount
from feedback.routing.models import RoutingRule
from feedback.sla.models import Escalation, Notification, NotificationSettings, SlaClock, SlaPolicy
from feedback.understanding.models import LabelCorrection, Promise

__all__ = [
    "Account",
    "AccountPlatform",
    "Case",
    "CaseEvent",
    "Escalation",
    "FeedbackNote",
    "Handoff",
    "InboundPayload",
    "LabelCorrection",
    "Mention",
    "Notification",
    "NotificationSettings",
    "Problem",
    "Promise",
    "RejectedDeliveryCount",
    "RoutingRule",
    "SavedView",
    "SlaClock",
    "SlaPolicy",
]
