"""The whole ticket pipeline, with one budget for every test of the class."""

from __future__ import annotations

import pytest

from support_assistant import SupportAssistant, Ticket


@pytest.mark.llm_budget(0.01)
class TestSupportAssistant:
    def test_billing_ticket_gets_faq_reply(self, provider_mock, faq_index, config):
        reply = (
            "Hi Dana, sorry for the duplicate charge. It is refunded automatically within "
            "5 business days, so there is nothing you need to do."
        )
        provider_mock.queue_openai_chat(
            '{"category": "billing"}', prompt_tokens=310, completion_tokens=6
        )
        provider_mock.queue_openai_embedding(prompt_tokens=20)
        provider_mock.queue_anthropic_message(reply, input_tokens=1650, output_tokens=260)
        ticket = Ticket(
            customer_name="Dana Whitfield",
            subject="Duplicate charge on my card",
            body="I see a duplicate charge for the Pro plan this month. How do I get a refund?",
        )

        outcome = SupportAssistant(faq_index, config).handle_ticket(ticket)

        assert outcome.category == "billing"
        assert not outcome.escalated
        assert outcome.faq_match is not None
        assert outcome.faq_match.entry.question == "How do I get a refund for a duplicate charge?"
        assert "Dana" in outcome.reply

    def test_outage_ticket_is_escalated(self, provider_mock, faq_index, config):
        acknowledgement = (
            "Hi Priya, thank you for reporting this. Our engineers are investigating "
            "the errors now, and we will update you within the hour."
        )
        provider_mock.queue_openai_chat(
            '{"category": "outage"}', prompt_tokens=300, completion_tokens=6
        )
        provider_mock.queue_anthropic_message(acknowledgement, input_tokens=420, output_tokens=60)
        ticket = Ticket(
            customer_name="Priya Raman",
            subject="Dashboard down for everyone",
            body="Since 09:00 UTC every page of the dashboard returns a 502 error, "
            "for all 30 people in our company.",
        )

        outcome = SupportAssistant(faq_index, config).handle_ticket(ticket)

        assert outcome.category == "outage"
        assert outcome.escalated
        assert outcome.faq_match is None
        assert "Priya" in outcome.reply
