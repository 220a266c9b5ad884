"""The replies room's rules, in one place: the five considerations, which replies need approval and
who approves them, what each channel takes."""

from django.conf import settings
from django.db.models import Q

from feedback.choices import Intent
from teams.models import Membership, Role

# The five considerations every reply honours (domain guide), as the composer's checklist.
CONSIDERATIONS = [
    ("transparency", "Transparency"),
    ("sourcing", "Sourcing"),
    ("timeliness", "Timeliness"),
    ("tone", "Tone"),
    ("influence", "Influence"),
]
# Channels where a private reply (Messenger, Instagram Direct) to a comment is possible.
PRIVATE_CHANNELS = {"facebook", "instagram"}
# The legal department, by slug (departments are seeded by slug).
LEGAL = "legal"
# What a channel takes in one post (X counts a little differently for links; this is the plain limit).
LIMITS = {"x": 280, "facebook": 8000, "instagram": 2200}


def max_length(*, source: str, kind: str) -> int:
    if kind == "private":
        return 2000  # Messenger's text limit
    return LIMITS.get(source, 2000)


def legal_review(case) -> bool:
    """Press and legal-sensitive cases: legal may approve their replies as well as the department's leads."""
    return case.intent == Intent.PRESS or bool(set(case.tags or []) & set(settings.BATON_APPROVAL_TAGS))


def approval_reason(case) -> str:
    """Why the case's replies wait for approval, or "" when they do not."""
    if case.intent == Intent.PRESS:
        return "Press case: a lead or legal approves replies before they go out."
    tags = sorted(set(case.tags or []) & set(settings.BATON_APPROVAL_TAGS))
    if tags:
        return f"Legal-sensitive ({', '.join(tags)}): a lead or legal approves replies before they go out."
    if case.requires_approval:
        rule = f" “{case.routed_by}”" if case.routed_by_id else ""
        return f"The routing rule{rule} asks for a lead's approval of replies."
    return ""


def approver_ids(*, case, author_id: int | None) -> list[int]:
    """Who may approve the case's replies (as `can_approve` decides): the active leads and heads of its
    department and, for press and legal cases, the members of legal; never the author."""
    who = Q(department_id=case.department_id, role__in=[Role.LEAD, Role.HEAD])
    if legal_review(case):
        who |= Q(department__slug=LEGAL)
    return list(Membership.objects.filter(who, user__is_active=True).exclude(user_id=author_id)
                .order_by("user_id").values_list("user_id", flat=True).distinct())


def can_approve(*, user, reply, case) -> bool:
    """A lead or head of the case's department, or (press and legal cases) a member of legal; never
    the reply's author (four eyes)."""
    if user is None or not user.is_authenticated or user.pk == reply.author_id:
        return False
    roles = dict(Membership.objects.filter(user=user).values_list("department__slug", "role"))
    lead = Membership.objects.filter(user=user, department_id=case.department_id,
                                     role__in=[Role.LEAD, Role.HEAD]).exists()
    return lead or (LEGAL in roles and legal_review(case))
