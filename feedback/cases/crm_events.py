"""The case events CRM webhooks receive (customers.webhooks): `case.created`, `case.handed_off`,
`case.resolved`, `case.sla_breached`. Called inside the transaction of the change, by the service
that makes it; nothing is built when no subscription wants the event type (one query)."""

from collections.abc import Callable, Iterable

from customers.webhooks.events import EventType
from customers.webhooks.services import emit_events, subscribed_event_types
from feedback.cases.models import Case


def case_data(case: Case) -> dict:
    return {
        "id": case.pk,
        "customer": {"id": case.customer_id, "external_id": case.customer.external_id},
        "department": case.department.slug,
        "status": case.status,
        "priority": case.priority,
        "intent": case.intent,
        "subject": case.subject,
        "escalation_level": case.escalation_level,
        "created_at": case.created_at,
        "resolved_at": case.resolved_at,
    }


def emit_case_events(*, event_type: EventType, cases: Iterable[Case],
                     extra: Callable[[Case], dict] | None = None) -> int:
    cases = list(cases)
    if not cases or event_type not in subscribed_event_types():
        return 0
    return emit_events(events=[(event_type, {**case_data(case), **(extra(case) if extra else {})}) for case in cases])


def emit_breaches(*, breaches: list[tuple[int, str, object]]) -> int:
    """`case.sla_breached` for (case id, clock metric, due at) triples, one event per breached clock."""
    if not breaches or EventType.CASE_SLA_BREACHED not in subscribed_event_types():
        return 0
    cases = Case.objects.select_related("customer", "department").in_bulk({case_id for case_id, _, _ in breaches})
    return emit_events(events=[
        (EventType.CASE_SLA_BREACHED, {**case_data(cases[case_id]), "clock": {"metric": metric, "due_at": due_at}})
        for case_id, metric, due_at in breaches if case_id in cases
    ])
