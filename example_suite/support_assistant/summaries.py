"""Thread summaries for agents who take over a ticket, written asynchronously."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import litellm

from ._responses import as_stream, chunk_text, completion_text
from .config import AssistantConfig
from .tickets import ThreadMessage, format_thread

_SUMMARY_PROMPT = """\
Summarise this support thread for the agent who takes it over: the customer's
problem, what has been tried, and what is still open. At most four sentences."""


def _summary_messages(thread: Sequence[ThreadMessage]) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": _SUMMARY_PROMPT},
        {"role": "user", "content": format_thread(thread)},
    ]


async def summarize_thread(thread: Sequence[ThreadMessage], config: AssistantConfig) -> str:
    """Summarise a thread with one non-streamed call to the summary model."""
    if not thread:
        raise ValueError("cannot summarise an empty thread")
    response = await litellm.acompletion(
        model=config.summary_model,
        messages=_summary_messages(thread),
        max_tokens=config.summary_max_tokens,
    )
    return completion_text(response).strip()


async def stream_thread_summary(
    thread: Sequence[ThreadMessage], config: AssistantConfig
) -> AsyncIterator[str]:
    """Yield a thread summary piece by piece as the summary model streams it."""
    if not thread:
        raise ValueError("cannot summarise an empty thread")
    response = await litellm.acompletion(
        model=config.summary_model,
        messages=_summary_messages(thread),
        max_tokens=config.summary_max_tokens,
        stream=True,
        # OpenAI reports the token usage of a stream, and so its cost, only on request.
        stream_options={"include_usage": True},
    )
    async for chunk in as_stream(response):
        text = chunk_text(chunk)
        if text:
            yield text
