"""Reply drafting: a streamed Anthropic call whose chunks are joined."""

from __future__ import annotations

import pytest

from support_assistant import FaqEntry, Ticket, draft_reply

TICKET = Ticket(
    customer_name="Dana Whitfield",
    subject="Duplicate charge on my card",
    body="I see a duplicate charge for the Pro plan this month. How do I get a refund?",
)
REFUND_ENTRY = FaqEntry(
    "How do I get a refund for a duplicate charge?",
    "Duplicate charges are refunded automatically within 5 business days.",
)
REPLY = (
    "Hi Dana, I'm sorry about the duplicate charge for your Pro plan. "
    "Duplicate charges are refunded automatically within 5 business days, "
    "so the extra payment will be back on your card by then. "
    "If it has not arrived, reply to this ticket and we will look into it."
)


@pytest.mark.llm_budget(0.01)
def test_draft_reply_joins_stream(provider_mock, config):
    provider_mock.queue_anthropic_message(REPLY, input_tokens=1500, output_tokens=220)

    reply = draft_reply(TICKET, REFUND_ENTRY, config)

    assert "Dana" in reply
    if not provider_mock.live:
        # The mock streams one word per chunk, so equality shows that every chunk was joined.
        assert reply == REPLY
