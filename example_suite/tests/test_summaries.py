"""Thread summaries: async OpenAI calls, one non-streamed and one streamed.

These tests have no llm_budget marker, so --llm-test-budget, when given, sets their budget.
"""

from __future__ import annotations

import pytest

from support_assistant import ThreadMessage, stream_thread_summary, summarize_thread

THREAD = [
    ThreadMessage("Priya (customer)", "Our CSV export has been stuck at 'Preparing' since Monday."),
    ThreadMessage("Sam (agent)", "Thanks, Priya. Could you retry the export from Settings > Data?"),
    ThreadMessage("Priya (customer)", "Tried twice today, same result. We have 40,000 rows."),
    ThreadMessage("Sam (agent)", "I have asked engineering whether large exports are failing."),
]
SUMMARY = (
    "Priya's CSV export of a 40,000-row workspace has been stuck at 'Preparing' since Monday. "
    "Retrying from Settings > Data failed twice. Sam asked engineering whether large exports "
    "fail; their answer is still open."
)


@pytest.mark.asyncio
async def test_summarize_thread_returns_summary(provider_mock, config):
    provider_mock.queue_openai_chat(SUMMARY, prompt_tokens=2400, completion_tokens=150)

    summary = await summarize_thread(THREAD, config)

    assert summary
    if not provider_mock.live:
        assert summary == SUMMARY


@pytest.mark.asyncio
async def test_stream_thread_summary_pieces(provider_mock, config):
    provider_mock.queue_openai_chat(SUMMARY, prompt_tokens=2400, completion_tokens=120)

    pieces = [piece async for piece in stream_thread_summary(THREAD, config)]

    assert len(pieces) > 1
    assert all(pieces)
    if not provider_mock.live:
        assert "".join(pieces) == SUMMARY
        # Without this option OpenAI sends no usage for a stream, and the cost is unknown.
        assert provider_mock.requests[0]["stream_options"] == {"include_usage": True}
