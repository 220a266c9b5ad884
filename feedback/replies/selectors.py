"""Reads of the replies room, scoped to what the asking user may see."""

from django.db.models import Max, Q, Subquery
from django.http import Http404

from feedback.cases.models import Case, CaseEvent
from feedback.choices import EventKind
from feedback.replies import templating
from feedback.replies.models import OUTGOING, CannedResponse, OutboxMessage, Reply, ReplyStatus
from feedback.replies.rules import LEGAL, can_approve, legal_review
from teams.models import Membership, Role
from teams.selectors import department_ids_for

CONVERSATION_KINDS = (EventKind.MENTION, EventKind.REPLY)


def marks(*, case: Case) -> dict[str, int]:
    """What the page saw when it was rendered: the highest timeline id of a post or reply, and the
    highest reply id. The composer sends them back (collision detection)."""
    row = Case.objects.filter(pk=case.pk).annotate(
        seen_event=Subquery(CaseEvent.objects.filter(case=case, kind__in=CONVERSATION_KINDS).order_by()
                            .values("case").annotate(n=Max("id")).values("n")),
        seen_reply=Subquery(Reply.objects.filter(case=case).order_by().values("case").annotate(n=Max("id"))
                            .values("n")),
    ).values("seen_event", "seen_reply").first() or {}
    return {"seen_event": row.get("seen_event") or 0, "seen_reply": row.get("seen_reply") or 0}


def activity_since(*, case: Case, seen_event: int | None, seen_reply: int | None, user) -> list[dict]:
    """Posts and replies on the case newer than the marks, and other people's replies still on their
    way (waiting for approval or to be sent): what someone about to reply must read first. Newest first."""
    items = []
    if seen_event is not None:
        for event in (CaseEvent.objects.filter(case=case, kind__in=CONVERSATION_KINDS, id__gt=seen_event)
                      .select_related("actor").order_by("-id")[:20]):
            if event.kind == EventKind.MENTION:
                who = f"@{event.data.get('author')}" if event.data.get("author") else "The customer"
                items.append({"what": "New post", "who": who, "text": event.data.get("text", ""),
                              "at": event.created_at})
            else:
                who = _name(event.actor) if event.actor_id else "The brand account"
                items.append({"what": "Reply sent", "who": who, "text": event.data.get("text", ""),
                              "at": event.created_at})
    if seen_reply is not None:
        replies = (Reply.objects.filter(case=case, id__gt=seen_reply, status__in=OUTGOING)
                   .exclude(author=user).select_related("author").order_by("-id")[:20])
        for reply in replies:
            items.append({"what": f"Reply {reply.get_status_display().lower()}", "who": _name(reply.author),
                          "text": reply.text, "at": reply.created_at})
    return sorted(items, key=lambda item: item["at"], reverse=True)


def _name(user) -> str:
    if user is None:
        return "Someone"
    return user.get_full_name() or user.get_username()


def canned_for_case(*, case: Case, assessment: str = "") -> list[CannedResponse]:
    """The department's active canned responses: those for the post's assessment first, then the general ones."""
    canned = list(CannedResponse.objects.filter(department_id=case.department_id, is_active=True)
                  .filter(Q(assessment="") | Q(assessment=assessment)).order_by("title"))
    return sorted(canned, key=lambda item: (item.assessment != assessment, item.title))


def canned_for_user(*, user, canned_id: int) -> CannedResponse:
    found = CannedResponse.objects.filter(pk=canned_id, department_id__in=department_ids_for(user=user)).first()
    if found is None:
        raise Http404("No such canned response in your departments.")
    return found


def managed_canned(*, user):
    """Canned responses of the departments the user leads or heads (all, for a superuser)."""
    queryset = CannedResponse.objects.select_related("department", "updated_by")
    if not user.is_superuser:
        queryset = queryset.filter(department__memberships__user=user,
                                   department__memberships__role__in=[Role.LEAD, Role.HEAD])
    return queryset.order_by("department__name", "assessment", "title")


def render_canned(*, canned: CannedResponse, case: Case, user) -> str:
    mention = case.mentions.order_by("-posted_at", "-id").first()
    values = templating.fields_for(case=case, agent=user, handle=mention.author_handle if mention else "")
    return templating.render(canned.text, values)


def case_replies(*, case: Case, replied: bool = True) -> dict:
    """The case's replies on their way or stopped (the sent ones are on the timeline) and its outbox
    (`replied` False: nothing was sent yet, so the outbox is empty)."""
    replies = list(Reply.objects.filter(case=case).exclude(status=ReplyStatus.SENT)
                   .select_related("author", "decided_by", "in_reply_to").order_by("-created_at", "-id")[:20])
    return {
        "outgoing": [reply for reply in replies if reply.status in OUTGOING],
        "stopped": [reply for reply in replies if reply.status in (ReplyStatus.FAILED, ReplyStatus.REJECTED)],
        "outbox": list(OutboxMessage.objects.filter(case=case).select_related("reply__author")[:10]) if replied else [],
    }


def approvals_for(*, user, limit: int = 100) -> list[Reply]:
    """Replies waiting for this user's approval: their departments' as a lead or head, and press and
    legal cases for a member of legal. Never their own. Oldest first."""
    memberships = list(Membership.objects.filter(user=user).values_list("department_id", "department__slug", "role"))
    led = {department_id for department_id, _slug, role in memberships if role in (Role.LEAD, Role.HEAD)}
    legal = any(slug == LEGAL for _id, slug, _role in memberships)
    if not led and not legal:
        return []
    queryset = (Reply.objects.filter(status=ReplyStatus.AWAITING_APPROVAL).exclude(author=user)
                .select_related("case", "case__customer", "case__department", "author", "in_reply_to")
                .order_by("created_at", "id"))
    if not legal:
        queryset = queryset.filter(case__department_id__in=led)
    return [reply for reply in queryset[:limit * 2]
            if reply.case.department_id in led or legal_review(reply.case)][:limit]


def reply_for_approver(*, user, reply_id: int) -> Reply:
    """A reply the user may decide on; 404 when they have nothing to do with it."""
    reply = (Reply.objects.select_related("case", "case__customer", "case__department", "author", "in_reply_to")
             .filter(pk=reply_id).first())
    if reply is None or not (can_approve(user=user, reply=reply, case=reply.case)
                             or reply.case.department_id in department_ids_for(user=user)):
        raise Http404("No such reply for you.")
    return reply


def reply_for_member(*, user, reply_id: int) -> Reply:
    reply = Reply.objects.select_related("case").filter(
        pk=reply_id, case__department_id__in=department_ids_for(user=user)).first()
    if reply is None:
        raise Http404("No such reply in your departments.")
    return reply


def approval_count(*, user) -> int:
    return len(approvals_for(user=user))
