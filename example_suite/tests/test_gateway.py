"""Calls through the team's LiteLLM proxy, priced by the proxy's cost callback.

Expected costs at gpt-4o-mini's prices, $0.15 and $0.60 per million prompt and
completion tokens:
- title: 64 * 1.5e-07 + 6 * 6e-07 = $0.0000132
- first response, streamed: 180 * 1.5e-07 + 40 * 6e-07 = $0.000051
"""

from __future__ import annotations

import pytest

from support_assistant import Ticket, stream_first_response, suggest_title

TICKET = Ticket(
    customer_name="Dana Whitfield",
    subject="Duplicate charge on my card",
    body="I see a duplicate charge for the Pro plan this month. How do I get a refund?",
)
RESPONSE = (
    "Hi Dana, thanks for letting us know about the duplicate charge. "
    "Our billing team is looking into it and will reply within one business day."
)


@pytest.mark.llm_budget(0.001)
def test_suggest_title(gateway, llm_gateway):
    llm_gateway.queue_chat("Duplicate Pro plan charge", prompt_tokens=64, completion_tokens=6)

    title = suggest_title(gateway, TICKET)

    assert title
    if llm_gateway.provider is not None:
        assert title == "Duplicate Pro plan charge"


@pytest.mark.llm_budget(0.001)
def test_first_response_streams(gateway, llm_gateway):
    llm_gateway.queue_chat(RESPONSE, prompt_tokens=180, completion_tokens=40)

    response = stream_first_response(gateway, TICKET)

    assert "Dana" in response
    if llm_gateway.provider is not None:
        assert response == RESPONSE
