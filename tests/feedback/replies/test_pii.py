"""The PII guard: real detectors (email_validator, phonenumbers, Luhn, the order pattern, customers' names)."""

import pytest
from django.test import override_settings

from feedback.replies import pii
from feedback.replies.services import check_pii
from tests.factories import CaseFactory, CustomerFactory


def kinds(text, **kwargs):
    return [(finding.kind, finding.text) for finding in pii.scan(text, **kwargs)]


class TestDetectors:
    def test_an_email_address_is_found_and_explained(self):
        [finding] = pii.scan("Write to dana.smith+bags@example.co.uk and we will help.")
        assert (finding.kind, finding.text) == ("email", "dana.smith+bags@example.co.uk")
        assert "private message" in finding.why
        assert finding.label == "Email address"

    def test_a_handle_or_a_broken_address_is_not_an_email(self):
        assert kinds("Thanks @dana! See example.com or write to support@ later.") == []

    @pytest.mark.parametrize("text", ["Call us on +49 30 901820.", "Call (212) 736-5000 today", "ring +44 20 7946 0958"])
    def test_a_valid_phone_number_is_found(self, text):
        assert [kind for kind, _ in kinds(text)] == ["phone"]

    def test_times_dates_and_flight_numbers_are_not_phone_numbers(self):
        assert kinds("Flight UA 1234 leaves at 10:30 on 12/06/2026, gate 42, seat 17C.") == []

    def test_a_card_number_must_pass_luhn(self):
        assert kinds("Card 4111 1111 1111 1111 was charged") == [("card", "4111 1111 1111 1111")]
        assert kinds("Card 4111-1111-1111-1111 was charged") == [("card", "4111-1111-1111-1111")]
        assert [kind for kind, _ in kinds("Card 4111 1111 1111 1112 was charged")] != ["card"]

    def test_luhn(self):
        assert pii.luhn_ok("4242424242424242") and pii.luhn_ok("79927398713")
        assert not pii.luhn_ok("4242424242424241")

    @pytest.mark.parametrize("text", ["Your order #123456 ships today", "booking ref: X7K2P9 is confirmed",
                                      "Order number A12345-B"])
    def test_order_numbers_follow_the_setting(self, text):
        assert [kind for kind, _ in kinds(text)] == ["order"]

    def test_words_after_order_are_not_order_numbers(self):
        assert kinds("Your order will arrive tomorrow; the booking is fine.") == []

    @override_settings(BATON_ORDER_NUMBER_PATTERN=r"\bPNR-\d{4}\b")
    def test_the_order_pattern_is_a_setting(self):
        assert kinds("see PNR-1234 and order #123456") == [("order", "PNR-1234")]

    def test_findings_come_in_text_order(self):
        text = "Mail a@example.com, card 4242 4242 4242 4242, call +49 30 901820"
        assert [kind for kind, _ in kinds(text)] == ["email", "card", "phone"]


@pytest.mark.django_db
class TestOtherCustomersNames:
    def test_another_customers_name_is_found_not_the_own(self):
        case = CaseFactory(customer=CustomerFactory(name="Rita Flies"))
        CustomerFactory(name="Bob Travels")
        CustomerFactory(name="Anna Maria Lopez")
        text = "Hi Rita Flies, like Bob Travels and Anna Maria Lopez said, we are on it. Kind regards, Customer Service"
        found = [(finding.kind, finding.text) for finding in check_pii(case=case, text=text)]
        assert found == [("name", "Bob Travels"), ("name", "Anna Maria Lopez")]
        assert "another customer" in check_pii(case=case, text="Ask Bob Travels")[0].why

    def test_names_match_whatever_the_case_of_the_record(self):
        case = CaseFactory()
        CustomerFactory(name="bob travels")
        assert [f.text for f in check_pii(case=case, text="As Bob Travels said")] == ["Bob Travels"]

    def test_the_authors_own_name_is_allowed(self, service_agent):
        service_agent.first_name, service_agent.last_name = "Dana", "Ortiz"
        case = CaseFactory()
        CustomerFactory(name="Dana Ortiz")  # a customer who shares the agent's name
        assert check_pii(case=case, text="I'm Dana Ortiz from service.", author=service_agent) == []
