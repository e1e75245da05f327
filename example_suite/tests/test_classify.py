"""Ticket classification: label parsing, and one non-streamed OpenAI call."""

from __future__ import annotations

import pytest

from support_assistant import Ticket, classify_ticket, parse_category


def test_parse_category_formats():
    # Pure logic: no LLM call, so pytest-llmcost reports no cost for this test.
    assert parse_category('{"category": "billing"}') == "billing"
    assert parse_category(' {"category": "ACCOUNT"}\n') == "account"
    assert parse_category("Outage.") == "outage"
    assert parse_category("refund") == "other"
    assert parse_category('{"category": ') == "other"
    assert parse_category('{"label": "bug"}') == "other"
    assert parse_category('["bug"]') == "other"


@pytest.mark.llm_budget(0.001)
def test_classify_ticket_billing(provider_mock, config):
    provider_mock.queue_openai_chat(
        '{"category": "billing"}', prompt_tokens=310, completion_tokens=6
    )
    ticket = Ticket(
        customer_name="Dana Whitfield",
        subject="Charged twice this month",
        body="My card was charged twice for the Pro plan in March. Please refund one charge.",
    )

    assert classify_ticket(ticket, config) == "billing"
