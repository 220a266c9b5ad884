"""Replies from the composer to the platform: guard, approval, collision, sending, retries, the outbox."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from config.errors import NotAllowed, TransitionError
from feedback import dispatch
from feedback.cases import events
from feedback.cases.models import CaseEvent
from feedback.choices import CaseStatus, ClockMetric, EventKind, Intent
from feedback.intake.models import Account
from feedback.replies import services
from feedback.replies.connectors import XConnector
from feedback.replies.models import CannedResponse, OutboxMessage, Reply, ReplyStatus, SendingCredential
from feedback.replies.rules import CONSIDERATIONS
from feedback.replies.selectors import approvals_for, marks
from feedback.sla import clocks as sla
from feedback.sla.models import Notification, NotificationSettings, SlaClock
from teams.models import Role
from tests.factories import CaseFactory, CustomerFactory, MembershipFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db
ALL = [key for key, _ in CONSIDERATIONS]


@pytest.fixture
def case():
    now = timezone.now()
    case = CaseFactory(customer=CustomerFactory(name="Rita Flies"), created_at=now - timedelta(minutes=20),
                       intent=Intent.COMPLAINT)
    MentionFactory(case=case, customer=case.customer, source="x", external_id="1460323737035677698",
                   author_handle="ritaflies", text="@airline my bag is lost", posted_at=now - timedelta(minutes=20))
    sla.start_clocks(case=case, now=case.created_at)
    return case


@pytest.fixture
def lead(db):
    return MembershipFactory(user=UserFactory(username="service-lead", first_name="Lee", last_name="Chen"),
                             department=department("service"), role=Role.LEAD).user


@pytest.fixture
def x_account(platform):
    account = Account.objects.create(platform="x", slug="airline-x", handle="airline", platform_user_id="42")
    services.set_sending_token(account=account, token="oauth2-user-token-xyz")
    with override_settings(BATON_X_API_URL=platform.url):
        yield account


def compose(case, by, text="Sorry Rita, I'm Dana from service: we are tracing your bag now.", **kwargs):
    kwargs.setdefault("considerations", ALL)
    return services.compose_reply(case=case, by=by, text=text, **kwargs)


class TestCompose:
    def test_a_reply_is_queued_and_its_send_task_enqueued_after_commit(self, case, service_agent, task_queue,
                                                                       django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            reply = compose(case, service_agent)
        assert reply.status == ReplyStatus.QUEUED
        assert reply.in_reply_to.external_id == "1460323737035677698"
        assert reply.considerations == sorted(ALL)
        assert task_queue.sent() == [(dispatch.SEND_REPLY, [reply.pk])]
        # Nothing on the timeline yet: the reply is recorded when the platform took it.
        assert not CaseEvent.objects.filter(case=case, kind=EventKind.REPLY).exists()

    def test_the_pii_guard_blocks_a_public_reply_and_says_why(self, case, service_agent):
        with pytest.raises(services.PiiBlocked) as blocked:
            compose(case, service_agent, text="Rita, mail your card 4111 1111 1111 1111 to help@airline-support.com")
        assert [finding.kind for finding in blocked.value.findings] == ["card", "email"]
        assert any("checksum" in message for message in blocked.value.fields["text"])
        assert not Reply.objects.exists()

    def test_every_consideration_must_be_ticked(self, case, service_agent):
        with pytest.raises(TransitionError) as refused:
            compose(case, service_agent, considerations=["tone", "timeliness"])
        assert refused.value.fields == {"considerations": ["Not ticked: Transparency, Sourcing, Influence."]}
        assert not Reply.objects.exists()

    def test_x_takes_280_characters(self, case, service_agent):
        with pytest.raises(TransitionError) as refused:
            compose(case, service_agent, text="a" * 281)
        assert "280" in refused.value.fields["text"][0]

    def test_a_private_reply_only_where_the_channel_has_them(self, case, service_agent):
        with pytest.raises(TransitionError, match="Facebook and Instagram only"):
            compose(case, service_agent, kind="private")

    def test_another_department_may_not_reply(self, case, sales_agent):
        with pytest.raises(NotAllowed):
            compose(case, sales_agent)

    def test_a_newer_post_since_the_page_loaded_is_a_collision(self, case, service_agent):
        seen = marks(case=case)
        newer = MentionFactory(case=case, customer=case.customer, text="@airline hello?? anyone??")
        events.add(events.mention_attached(case=case, mention=newer, now=timezone.now()))
        with pytest.raises(services.Collision) as collision:
            compose(case, service_agent, **seen)
        assert [(item["what"], item["text"]) for item in collision.value.newer] == [
            ("New post", "@airline hello?? anyone??")]
        assert not Reply.objects.exists()
        # Having read it (the page's new marks), the reply goes.
        assert compose(case, service_agent, **marks(case=case)).status == ReplyStatus.QUEUED

    def test_a_colleagues_reply_on_its_way_is_a_collision_mine_is_not(self, case, service_agent, lead):
        seen = marks(case=case)
        compose(case, service_agent, **seen)
        assert compose(case, service_agent, text="And one more thing.", **seen).status == ReplyStatus.QUEUED
        with pytest.raises(services.Collision) as collision:
            compose(case, lead, **seen)
        assert {item["who"] for item in collision.value.newer} == {"service-agent"}


class TestDelivery:
    def test_without_an_account_the_reply_goes_to_the_outbox_and_stops_the_clock(self, case, service_agent,
                                                                                  task_queue,
                                                                                  django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            reply = compose(case, service_agent)
        assert task_queue.run() == [(dispatch.SEND_REPLY, [reply.pk])]
        reply.refresh_from_db()
        outbox = OutboxMessage.objects.get(reply=reply)
        assert (reply.status, reply.connector, reply.platform_id) == (ReplyStatus.SENT, "outbox", f"outbox-{outbox.pk}")
        assert (outbox.channel, outbox.to_handle, outbox.in_reply_to) == ("x", "ritaflies", "1460323737035677698")
        event = CaseEvent.objects.get(case=case, kind=EventKind.REPLY)
        assert (event.actor, event.data["via"], event.data["connector"]) == (service_agent, "baton", "outbox")
        case.refresh_from_db()
        assert case.status == CaseStatus.OPEN and case.first_replied_at == reply.sent_at
        assert SlaClock.objects.get(case=case, metric=ClockMetric.FIRST_REPLY).stopped_at == reply.sent_at
        # A repeated task message sends nothing twice.
        assert services.deliver_reply(reply_id=reply.pk) == "skipped"
        assert OutboxMessage.objects.count() == 1

    def test_with_a_connected_x_account_it_posts_and_records_the_platform_id(self, case, service_agent, x_account,
                                                                             platform):
        platform.answer((201, {"data": {"id": "1445880548472328192", "text": "..."}}))
        reply = compose(case, service_agent)
        assert services.deliver_reply(reply_id=reply.pk) == "sent"
        reply.refresh_from_db()
        assert (reply.status, reply.connector, reply.platform_id, reply.account) == (
            ReplyStatus.SENT, "x", "1445880548472328192", x_account)
        [request] = platform.requests
        assert request.json()["reply"] == {"in_reply_to_tweet_id": "1460323737035677698"}
        assert request.headers["authorization"] == "Bearer oauth2-user-token-xyz"
        event = CaseEvent.objects.get(case=case, kind=EventKind.REPLY)
        assert (event.data["source"], event.data["external_id"]) == ("x", "1445880548472328192")
        # X's webhook delivers the brand's own post back: recognised as already on the timeline.
        assert events.channel_reply_recorded(case=case, source="x", external_id="1445880548472328192")

    @override_settings(BATON_REPLY_SEND_ATTEMPTS=3, BATON_REPLY_RETRY_SECONDS=30)
    def test_a_failing_send_is_retried_with_backoff_then_shown_as_failed(self, case, service_agent, x_account,
                                                                         platform, task_queue,
                                                                         django_capture_on_commit_callbacks):
        platform.answer((503, {"title": "Service Unavailable"}))
        reply = compose(case, service_agent)
        now = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.deliver_reply(reply_id=reply.pk, now=now) == "retrying"
        reply.refresh_from_db()
        assert (reply.status, reply.attempts, reply.next_attempt_at) == (ReplyStatus.RETRYING, 1,
                                                                        now + timedelta(seconds=30))
        assert services.retry_delay(2) == timedelta(seconds=60)
        assert task_queue.sent() == [(dispatch.SEND_REPLY, [reply.pk])]
        task_queue.run()  # the two attempts left (a worker would wait for each countdown)
        reply.refresh_from_db()
        assert (reply.status, reply.attempts) == (ReplyStatus.FAILED, 3)
        assert "503" in reply.last_error
        assert len(platform.requests) == 3
        failed = CaseEvent.objects.get(case=case, kind=EventKind.SEND_FAILED)
        assert failed.data["attempts"] == 3
        assert not CaseEvent.objects.filter(case=case, kind=EventKind.REPLY).exists()
        # Sent again by a person: a new round.
        platform.answer((201, {"data": {"id": "99", "text": "..."}}))
        services.resend_reply(reply=reply, by=service_agent)
        assert services.deliver_reply(reply_id=reply.pk) == "sent"

    def test_a_refused_send_fails_at_once(self, case, service_agent, x_account, platform):
        platform.answer((401, {"title": "Unauthorized", "detail": "Unauthorized"}))
        reply = compose(case, service_agent)
        assert services.deliver_reply(reply_id=reply.pk) == "failed"
        reply.refresh_from_db()
        assert (reply.status, reply.attempts, reply.last_error) == (ReplyStatus.FAILED, 1, "X answered 401: Unauthorized")

    def test_the_token_is_stored_encrypted(self, x_account):
        credential = SendingCredential.objects.get(account=x_account)
        assert "oauth2-user-token-xyz" not in credential.token_ciphertext
        assert credential.token == "oauth2-user-token-xyz"
        assert credential.token_hint == "…-xyz"


class TestStuckSending:
    """A worker that dies while posting leaves its reply `sending`: the beat's sweep puts it back once, and the next
    attempt asks the platform whether the dead one posted it, so the platform never gets it twice."""

    def _die_while_sending(self, reply, *, posted: bool, minutes_ago: int = 11):
        """What a worker killed mid-send leaves behind: the reply claimed (`sending`), maybe its post made."""
        claimed_reply, _account, outgoing = services._claim(reply_id=reply.pk, now=timezone.now())
        if posted:
            XConnector().send(outgoing)  # the platform took it; the answer never reached Baton
        Reply.objects.filter(pk=reply.pk).update(attempt_started_at=timezone.now() - timedelta(minutes=minutes_ago))
        return outgoing

    def test_the_sweep_requeues_a_reply_stuck_past_the_timeout_exactly_once(self, case, service_agent, x_account,
                                                                           task_queue,
                                                                           django_capture_on_commit_callbacks):
        stuck, recent = compose(case, service_agent), compose(case, service_agent, text="Another reply, Rita.")
        self._die_while_sending(stuck, posted=False)
        self._die_while_sending(recent, posted=False, minutes_ago=1)  # may still be sending: left alone
        task_queue.purge()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.recover_stuck_sending() == [stuck.pk]
        assert task_queue.sent() == [(dispatch.SEND_REPLY, [stuck.pk])]
        stuck.refresh_from_db()
        assert (stuck.status, stuck.attempts, stuck.unconfirmed_attempt) == (ReplyStatus.RETRYING, 1, 1)
        assert "Attempt 1 stopped while sending" in stuck.last_error
        with django_capture_on_commit_callbacks(execute=True):
            assert services.recover_stuck_sending() == []  # the next sweep: nothing again
        assert task_queue.sent() == [(dispatch.SEND_REPLY, [stuck.pk])]
        assert Reply.objects.get(pk=recent.pk).status == ReplyStatus.SENDING

    def test_a_post_the_dead_attempt_made_is_recorded_not_posted_again(self, case, service_agent, x_account,
                                                                        platform, task_queue,
                                                                        django_capture_on_commit_callbacks):
        platform.answer((201, {"data": {"id": "1500000000000000009", "text": "..."}}))
        reply = compose(case, service_agent)
        self._die_while_sending(reply, posted=True)
        platform.answer_get((200, {"data": [{"id": "1500000000000000009", "text": f"@ritaflies {reply.text}",
                                             "referenced_tweets": [{"type": "replied_to",
                                                                    "id": "1460323737035677698"}]}]}))
        with django_capture_on_commit_callbacks(execute=True):
            services.recover_stuck_sending()
        task_queue.run()
        reply.refresh_from_db()
        assert (reply.status, reply.platform_id, reply.attempts, reply.unconfirmed_attempt) == (
            ReplyStatus.SENT, "1500000000000000009", 2, None)
        assert len(platform.seen("POST")) == 1 and len(platform.seen("GET")) == 1
        assert platform.seen("GET")[0].path == "/2/users/42/tweets"
        assert CaseEvent.objects.get(case=case, kind=EventKind.REPLY).data["external_id"] == "1500000000000000009"

    def test_a_post_the_platform_does_not_have_is_posted_once(self, case, service_agent, x_account, platform,
                                                              task_queue, django_capture_on_commit_callbacks):
        platform.answer((201, {"data": {"id": "1500000000000000010", "text": "..."}}))
        reply = compose(case, service_agent)
        self._die_while_sending(reply, posted=False)  # killed before its request left
        with django_capture_on_commit_callbacks(execute=True):
            services.recover_stuck_sending()
        task_queue.run()
        reply.refresh_from_db()
        assert (reply.status, reply.platform_id) == (ReplyStatus.SENT, "1500000000000000010")
        assert [request.method for request in platform.requests] == ["GET", "POST"]

    def test_a_failed_check_never_posts_blind_and_says_why(self, case, service_agent, x_account, platform,
                                                           django_capture_on_commit_callbacks):
        reply = compose(case, service_agent)
        self._die_while_sending(reply, posted=False)
        platform.answer_get((503, {"title": "Service Unavailable"}))
        services.recover_stuck_sending()
        assert services.deliver_reply(reply_id=reply.pk) == "retrying"
        reply.refresh_from_db()
        assert (reply.status, reply.unconfirmed_attempt) == (ReplyStatus.RETRYING, 1)
        assert "X answered 503" in reply.last_error and "may have been posted" in reply.last_error
        assert platform.seen("POST") == []
        # Refused for good (the token was revoked): failed, shown on the case; a person checks, then sends again.
        platform.answer_get((401, {"title": "Unauthorized"}))
        assert services.deliver_reply(reply_id=reply.pk) == "failed"
        services.resend_reply(reply=Reply.objects.get(pk=reply.pk), by=service_agent)
        platform.answer((201, {"data": {"id": "77", "text": "..."}}))
        assert services.deliver_reply(reply_id=reply.pk) == "sent"  # not asked again: the person checked
        assert [request.method for request in platform.requests] == ["GET", "GET", "POST"]

    def test_a_slow_worker_taken_for_dead_still_counts_and_the_retry_sends_nothing(self, case, service_agent,
                                                                                   x_account, platform, task_queue,
                                                                                   caplog,
                                                                                   django_capture_on_commit_callbacks):
        platform.answer((201, {"data": {"id": "1500000000000000011", "text": "..."}}))
        reply = compose(case, service_agent)
        outgoing = self._die_while_sending(reply, posted=False)
        with django_capture_on_commit_callbacks(execute=True):
            services.recover_stuck_sending()
        # The "dead" worker was only slow: its post comes back now.
        delivered = XConnector().send(outgoing)
        assert services._sent(reply_id=reply.pk, platform_id=delivered.platform_id, url=delivered.url, now=None,
                              attempt=1) == "sent"
        assert "posted it after all" in caplog.text
        task_queue.run()  # the retry the sweep queued
        reply.refresh_from_db()
        assert (reply.status, reply.platform_id) == (ReplyStatus.SENT, "1500000000000000011")
        assert len(platform.seen("POST")) == 1
        # And an attempt's late failure never overwrites what happened since.
        assert services._failed(reply_id=reply.pk, error="late", retry=True, now=None, attempt=1) == "skipped"
        assert Reply.objects.get(pk=reply.pk).status == ReplyStatus.SENT


class TestApproval:
    @pytest.fixture
    def press_case(self, case):
        case.intent = Intent.PRESS
        case.department = department("marketing")
        case.save()
        return case

    @pytest.fixture
    def marketer(self):
        return MembershipFactory(user=UserFactory(username="mia"), department=department("marketing")).user

    @pytest.fixture
    def legal(self):
        return MembershipFactory(user=UserFactory(username="tom-legal"), department=department("legal")).user

    def test_a_press_reply_waits_for_approval_and_nothing_is_sent(self, press_case, marketer, task_queue,
                                                                  django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            reply = compose(press_case, marketer)
        assert reply.status == ReplyStatus.AWAITING_APPROVAL
        assert reply.approval_reason.startswith("Press case")
        assert task_queue.sent() == []
        assert CaseEvent.objects.get(case=press_case, kind=EventKind.APPROVAL).data["decision"] == "submitted"

    def test_legal_approves_with_an_edit_and_then_it_is_sent(self, press_case, marketer, legal, task_queue,
                                                            django_capture_on_commit_callbacks):
        reply = compose(press_case, marketer)
        assert approvals_for(user=legal) == [reply]
        assert approvals_for(user=marketer) == []  # never one's own
        with django_capture_on_commit_callbacks(execute=True):
            services.approve_reply(reply=reply, by=legal, text="Thanks for asking. Our media team will DM you.")
        reply.refresh_from_db()
        assert (reply.status, reply.decided_by, reply.text) == (ReplyStatus.QUEUED, legal,
                                                                "Thanks for asking. Our media team will DM you.")
        assert reply.original_text.startswith("Sorry Rita")
        task_queue.run()
        reply.refresh_from_db()
        assert reply.status == ReplyStatus.SENT
        assert CaseEvent.objects.get(case=press_case, kind=EventKind.REPLY).data["text"] == reply.text

    def test_an_approvers_edit_goes_through_the_pii_guard(self, press_case, marketer, legal):
        reply = compose(press_case, marketer)
        with pytest.raises(services.PiiBlocked):
            services.approve_reply(reply=reply, by=legal, text="Call our press office on +49 30 901820")
        reply.refresh_from_db()
        assert reply.status == ReplyStatus.AWAITING_APPROVAL

    def test_the_author_and_other_agents_cannot_approve(self, press_case, marketer, service_agent):
        reply = compose(press_case, marketer)
        with pytest.raises(NotAllowed):
            services.approve_reply(reply=reply, by=marketer)
        with pytest.raises(NotAllowed):
            services.approve_reply(reply=reply, by=service_agent)

    def test_a_lead_rejects_with_a_reason(self, press_case, marketer):
        lead = MembershipFactory(user=UserFactory(username="mkt-lead"), department=department("marketing"),
                                 role=Role.LEAD).user
        reply = compose(press_case, marketer)
        with pytest.raises(TransitionError):
            services.reject_reply(reply=reply, by=lead, reason="  ")
        services.reject_reply(reply=reply, by=lead, reason="Do not confirm the date yet.")
        reply.refresh_from_db()
        assert (reply.status, reply.rejection_reason) == (ReplyStatus.REJECTED, "Do not confirm the date yet.")
        event = CaseEvent.objects.filter(case=press_case, kind=EventKind.APPROVAL).latest("id")
        assert (event.data["decision"], event.actor) == ("rejected", lead)
        with pytest.raises(TransitionError):
            services.approve_reply(reply=reply, by=lead)

    def test_a_rule_that_requires_approval_holds_replies_for_a_lead_not_legal(self, case, service_agent, lead):
        case.requires_approval = True
        case.save()
        reply = compose(case, service_agent)
        assert reply.status == ReplyStatus.AWAITING_APPROVAL
        legal = MembershipFactory(user=UserFactory(username="tl"), department=department("legal")).user
        assert approvals_for(user=legal) == []
        assert approvals_for(user=lead) == [reply]
        services.approve_reply(reply=reply, by=lead)


class TestApprovalNotifications:
    """A reply waiting for approval tells its approvers (grouped by case and kind like every notification);
    its author hears the decision, with the reason of a rejection."""

    @pytest.fixture
    def people(self):
        marketing, legal = department("marketing"), department("legal")
        return {
            "author": MembershipFactory(user=UserFactory(username="mia", first_name="Mia", last_name="Wong",
                                                        email="mia@example.com"), department=marketing).user,
            "lead": MembershipFactory(user=UserFactory(username="mkt-lead", first_name="Lee", last_name="Chen",
                                                      email="lee@example.com"), department=marketing,
                                      role=Role.LEAD).user,
            "head": MembershipFactory(user=UserFactory(username="mkt-head"), department=marketing, role=Role.HEAD).user,
            "legal": MembershipFactory(user=UserFactory(username="tom-legal"), department=legal).user,
            "colleague": MembershipFactory(user=UserFactory(username="mkt-agent"), department=marketing).user,
            "gone": MembershipFactory(user=UserFactory(username="gone-lead", is_active=False), department=marketing,
                                      role=Role.LEAD).user,
            "service_lead": MembershipFactory(user=UserFactory(username="svc-lead"), department=department("service"),
                                              role=Role.LEAD).user,
        }

    @pytest.fixture
    def press_case(self, case):
        case.intent, case.department = Intent.PRESS, department("marketing")
        case.save()
        return case

    def _told(self, kind):
        return set(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))

    def test_the_leads_heads_and_legal_are_told_never_the_author_nor_the_others(self, press_case, people, mailoutbox,
                                                                               task_queue,
                                                                               django_capture_on_commit_callbacks):
        NotificationSettings.objects.create(user=people["lead"], email_mode=NotificationSettings.Mode.IMMEDIATE,
                                            email_kinds=[Notification.Kind.APPROVAL])
        with django_capture_on_commit_callbacks(execute=True):
            compose(press_case, people["author"], text="We will share the statement at noon.")
        assert self._told(Notification.Kind.APPROVAL) == {"mkt-lead", "mkt-head", "tom-legal"}
        note = Notification.objects.get(user=people["lead"])
        assert note.case == press_case and note.text.startswith(f"Case #{press_case.pk}: Mia Wong's public reply waits")
        assert "Press case" in note.text and "We will share the statement at noon." in note.text
        task_queue.run()  # the lead asked for approval requests by e-mail at once
        assert [(mail.to, mail.subject) for mail in mailoutbox] == [
            (["lee@example.com"], f"[Baton] Case #{press_case.pk}: a reply waits for your approval")]
        assert "/replies/approvals/" in mailoutbox[0].body

    def test_a_rule_that_requires_approval_tells_the_leads_not_legal(self, case, people, service_agent):
        case.requires_approval = True
        case.save()
        compose(case, service_agent)
        assert self._told(Notification.Kind.APPROVAL) == {"svc-lead"}

    def test_requests_group_by_case_on_the_approvers_page_and_are_settled_once_decided(self, client, press_case,
                                                                                        people):
        first = compose(press_case, people["author"], text="First draft for the press.")
        second = compose(press_case, people["colleague"], text="Second draft for the press.")
        client.force_login(people["lead"])
        groups = client.get(reverse("notifications")).context["groups"]
        assert [(g["case_id"], g["kind"], g["count"], g["unread"]) for g in groups] == [
            (press_case.pk, Notification.Kind.APPROVAL, 2, 2)]
        assert f'href="{reverse("reply-approvals")}"' in client.get(reverse("notifications")).content.decode()
        services.approve_reply(reply=first, by=people["legal"])
        # The second still waits: the three approvers keep both requests.
        assert Notification.objects.filter(kind=Notification.Kind.APPROVAL, read_at__isnull=True).count() == 6
        services.reject_reply(reply=second, by=people["lead"], reason="Wait for legal.")
        # No reply of the case waits any more: nobody is left with a request to act on.
        assert not Notification.objects.filter(kind=Notification.Kind.APPROVAL, read_at__isnull=True).exists()

    def test_the_author_hears_an_approval_and_a_rejection_with_its_reason(self, press_case, people, mailoutbox,
                                                                          task_queue,
                                                                          django_capture_on_commit_callbacks):
        NotificationSettings.objects.create(user=people["author"], email_mode=NotificationSettings.Mode.IMMEDIATE,
                                            email_kinds=[Notification.Kind.REPLY_REJECTED])
        approved = compose(press_case, people["author"], text="A statement follows by private message.")
        services.approve_reply(reply=approved, by=people["lead"], text="Our statement follows by private message.")
        rejected = compose(press_case, people["author"], text="The launch is on Monday.")
        with django_capture_on_commit_callbacks(execute=True):
            services.reject_reply(reply=rejected, by=people["lead"], reason="Do not confirm the date yet.")
        told = {row.kind: row.text for row in Notification.objects.filter(user=people["author"])}
        assert told[Notification.Kind.REPLY_APPROVED] == (
            f"Case #{press_case.pk}: Lee Chen approved your reply with edits; it is on its way. "
            "“Our statement follows by private message.”")
        assert told[Notification.Kind.REPLY_REJECTED] == (
            f"Case #{press_case.pk}: Lee Chen rejected your reply: Do not confirm the date yet. "
            "(your text: “The launch is on Monday.”)")
        # E-mailed at once, as the author chose for rejections only.
        task_queue.run()
        assert [mail.subject for mail in mailoutbox] == [f"[Baton] Case #{press_case.pk}: your reply was rejected"]
        assert "Do not confirm the date yet." in mailoutbox[0].body


class TestMetaPrivateReply:
    def test_a_private_reply_to_a_facebook_comment_may_carry_details_and_goes_to_messenger(self, service_agent,
                                                                                           platform):
        now = timezone.now()
        case = CaseFactory(created_at=now - timedelta(minutes=5))
        MentionFactory(case=case, customer=case.customer, source="facebook", external_id="1234567890_555",
                       author_handle="rita.flies", posted_at=now - timedelta(minutes=5))
        account = Account.objects.create(platform="facebook", slug="airline-fb", handle="Airline",
                                         platform_user_id="104512345678901")
        services.set_sending_token(account=account, token="page-token-abcd")
        platform.answer((200, {"recipient_id": "1254459154682919", "message_id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"}))
        with override_settings(BATON_META_GRAPH_URL=f"{platform.url}/v21.0"):
            reply = compose(case, service_agent, kind="private",
                            text="Hi Rita, please confirm your booking ref: X7K2P9 here and I will fix it.")
            assert services.deliver_reply(reply_id=reply.pk) == "sent"
        [request] = platform.requests
        assert request.path == "/v21.0/104512345678901/messages"
        assert request.json()["recipient"] == {"comment_id": "1234567890_555"}
        event = CaseEvent.objects.get(case=case, kind=EventKind.REPLY)
        assert (event.data["reply_kind"], event.data["external_id"]) == ("private", "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM")
        with pytest.raises(services.PiiBlocked):  # the same text in public is blocked
            compose(case, service_agent, text="Hi Rita, please confirm your booking ref: X7K2P9 here.")


def test_default_canned_responses_are_created_once():
    created = services.ensure_default_canned()
    assert created == len(services.DEFAULT_CANNED)
    assert services.ensure_default_canned() == 0
    assert CannedResponse.objects.filter(department__slug="service", assessment="rectify").exists()


def test_replies_whose_message_was_lost_are_found_for_the_recovery(case, service_agent):
    now = timezone.now()
    old = compose(case, service_agent, now=now - timedelta(minutes=30))
    compose(case, service_agent, text="A fresh one", now=now)
    due = compose(case, service_agent, text="Due for a retry")
    Reply.objects.filter(pk=due.pk).update(status=ReplyStatus.RETRYING, next_attempt_at=now - timedelta(minutes=20))
    assert services.stuck_reply_ids(older_than=now - timedelta(minutes=5)) == [old.pk, due.pk]
