"""The case status machine and who may act on a case: the rules every case service checks.

`move_status` is the one way a case's status changes: it checks `TRANSITIONS`, writes the
timeline event and makes the SLA clocks follow the status. It runs on a case its caller locked
(`feedback.cases.locks`), inside the caller's transaction.
"""

from datetime import datetime

from config.errors import NotAllowed, TransitionError
from customers.webhooks.events import EventType
from feedback.cases import events
from feedback.cases.crm_events import emit_case_events
from feedback.cases.models import Case
from feedback.choices import CUSTOMER_CLOCKS, CaseStatus, ClockMetric, HandoffStatus
from feedback.sla import clocks as sla
from teams.selectors import department_ids_for

# The case status machine of the domain guide, in one place.
TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.NEW: {CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.RESOLVED},
    CaseStatus.OPEN: {CaseStatus.PENDING, CaseStatus.RESOLVED},
    CaseStatus.PENDING: {CaseStatus.OPEN, CaseStatus.RESOLVED},
    CaseStatus.RESOLVED: {CaseStatus.OPEN, CaseStatus.CLOSED},
    CaseStatus.CLOSED: set(),
}


def check_member(*, user, case: Case) -> None:
    """`user` may work the case: a member of the department that holds it, and the case does not
    wait for a handoff to be accepted. `user` None is the system, which may always act."""
    if user is not None and case.department_id not in department_ids_for(user=user):
        raise NotAllowed(f"You are not a member of {case.department}, which owns this case.")
    # A handed-off case is worked only once the receiving department accepted it (the system,
    # e.g. a brand reply seen on the channel, still records what happens).
    if user is not None and case.handoffs.filter(status=HandoffStatus.PENDING).exists():
        raise TransitionError(
            f"This case waits for {case.department} to accept the handoff: accept it (or send it back) first.",
            code="handoff_pending",
        )


def move_status(*, case: Case, to: str, now: datetime, actor=None, reason: str = "",
                changes: dict | None = None) -> None:
    """Move a locked case to status `to` (a `TransitionError` if the machine does not allow it),
    with a timeline event (`changes`: what else the same action changed, before and after); the clocks follow."""
    if to not in TRANSITIONS[case.status]:
        raise TransitionError(
            f"A {case.get_status_display().lower()} case cannot become {CaseStatus(to).label.lower()}.",
            fields={"status": [f"Allowed from {case.status}: {', '.join(sorted(TRANSITIONS[case.status])) or 'none'}."]},
        )
    previous = case.status
    case.status = to
    if to == CaseStatus.RESOLVED:
        case.resolved_at = now
    elif to == CaseStatus.CLOSED:
        case.closed_at = now
    elif previous == CaseStatus.RESOLVED:
        case.resolved_at = None
    case.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
    events.add(events.status_changed(case=case, from_=previous, to=to, reason=reason, actor=actor, now=now,
                                     changes=changes))
    # Clocks follow the status, whoever moves it: resolving meets them, reopening restarts resolution,
    # pending (waiting on the customer) pauses them and leaving pending resumes them.
    if previous == CaseStatus.PENDING:
        sla.resume_clocks(case=case, now=now)
    if to == CaseStatus.RESOLVED:
        sla.stop_clocks(case=case, metrics=list(CUSTOMER_CLOCKS), now=now)
        emit_case_events(event_type=EventType.CASE_RESOLVED, cases=[case])
    elif to == CaseStatus.PENDING:
        sla.pause_clocks(case=case, now=now)
    elif previous == CaseStatus.RESOLVED and to == CaseStatus.OPEN:
        if not case.clocks.filter(metric=ClockMetric.RESOLUTION, stopped_at__isnull=True).exists():
            sla.start_clocks(case=case, now=now, metrics=[ClockMetric.RESOLUTION])
