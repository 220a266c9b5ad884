from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from customers.models import Customer, Identity
from feedback.cases.models import Case, CaseEvent
from feedback.choices import CaseStatus, EventKind, MentionStatus
from feedback.demo import DEMO_PASSWORD
from feedback.intake.models import Mention
from feedback.replies.models import OutboxMessage, Reply, ReplyStatus
from feedback.sla.models import Escalation, Notification, SlaClock
from teams.models import BoardSeat, Department, Membership

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MENTIONS = 200


def _seed(*args, mentions=MENTIONS):
    out, err = StringIO(), StringIO()
    call_command("seed_demo", "--mentions", str(mentions), *args, stdout=out, stderr=err)
    return out.getvalue()


def _counts():
    return {
        model.__name__: model.objects.count()
        for model in (get_user_model(), Membership, BoardSeat, Token, Customer, Identity, Mention, Case, CaseEvent,
                      SlaClock, Escalation, Reply, OutboxMessage)
    }


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    return _seed()


def test_seed_demo_builds_a_live_demo_and_a_second_run_adds_nothing(seeded, settings):
    User = get_user_model()
    departments = set(Department.objects.values_list("slug", flat=True))
    assert departments == {"marketing", "sales", "after-sales", "service", "product", "hr", "legal"}
    assert set(Membership.objects.values_list("department__slug", flat=True)) == departments
    assert Membership.objects.get(user__username="service", department__slug="service").role == "lead"
    # A head among the demo users (the routing rules and the audit log need one), with a real name.
    head = Membership.objects.get(user__username="service-head", department__slug="service")
    assert head.role == "head" and head.user.get_full_name() == "Rosa Delgado"
    assert BoardSeat.objects.filter(user__username="board").exists()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password(DEMO_PASSWORD)
    integration = User.objects.get(username="integration")
    assert integration.has_perm("feedback.add_mention") and not integration.has_usable_password()
    assert Token.objects.get(user=integration).key in seeded

    crm = Customer.objects.filter(external_id__startswith="crm-")
    assert crm.count() == 300
    assert Identity.objects.filter(customer__in=crm, channel="x").count() == 300
    assert set(crm.values_list("stage", flat=True)) == {"prospect", "lead", "customer", "former"}

    assert Mention.objects.count() == MENTIONS
    assert not Mention.objects.exclude(status=MentionStatus.PROCESSED).exists()
    assert Mention.objects.filter(customer__external_id__startswith="crm-").exists()
    assert Mention.objects.filter(customer__external_id__startswith="baton:x:").exists()  # prospects

    assert set(Case.objects.values_list("status", flat=True)) == set(CaseStatus.values)
    assert CaseEvent.objects.filter(kind=EventKind.HANDOFF).exists()
    assert CaseEvent.objects.filter(kind=EventKind.REPLY, actor__isnull=False).exists()
    assert Escalation.objects.filter(level=2).exists()
    assert "http://127.0.0.1:8000/" in seeded and DEMO_PASSWORD in seeded
    assert "is ready" not in seeded  # the server is not running yet: the URL, not a claim that it is up
    # The demo's notifications are in the app; by default nobody is e-mailed at once (hourly digests).
    assert Notification.objects.exists()
    # Replies through the replies room: one sent through the outbox, one waiting for approval, its approvers told.
    sent = Reply.objects.get(status=ReplyStatus.SENT)
    assert OutboxMessage.objects.get(reply=sent).case == sent.case and sent.author.username == "service-agent"
    waiting = Reply.objects.get(status=ReplyStatus.AWAITING_APPROVAL)
    assert "legal-review" in waiting.case.tags and waiting.approval_reason.startswith("Legal-sensitive")
    assert set(Notification.objects.filter(kind=Notification.Kind.APPROVAL, case=waiting.case)
               .values_list("user__username", flat=True)) == {"service", "service-head", "legal"}

    before = _counts()
    _seed()
    assert _counts() == before


def test_seed_demo_refuses_known_passwords_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError) as refused:
        _seed()
    assert refused.value.returncode == 2
    assert "DEBUG" in str(refused.value)
    assert not get_user_model().objects.exists()
    assert not Mention.objects.exists()


def test_seed_demo_without_users_works_when_debug_is_off(settings):
    settings.DEBUG = False
    _seed("--no-users", mentions=40)
    assert not get_user_model().objects.exists()
    assert Mention.objects.filter(status=MentionStatus.PROCESSED).count() == 40
    assert Customer.objects.filter(external_id__startswith="crm-").count() == 300
    assert CaseEvent.objects.filter(kind=EventKind.REPLY, actor__isnull=True).exists()  # unattributed case work
