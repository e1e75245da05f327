"""Typed access to the text of LiteLLM responses."""

from __future__ import annotations

import litellm


def completion_text(response: litellm.ModelResponse | litellm.CustomStreamWrapper) -> str:
    """Return the text of the first choice of a non-streamed chat completion.

    Raises TypeError for a stream, which a call without `stream=True` never returns.
    """
    if not isinstance(response, litellm.ModelResponse):
        raise TypeError(f"expected a complete response, got {type(response).__name__}")
    choice = response.choices[0]
    if not isinstance(choice, litellm.Choices):
        raise TypeError(f"expected a message choice, got {type(choice).__name__}")
    return choice.message.content or ""


def chunk_text(chunk: litellm.ModelResponseStream) -> str:
    """Return the text a stream chunk adds, or "" for role, finish and usage chunks."""
    if not chunk.choices:
        return ""
    return chunk.choices[0].delta.content or ""


def as_stream(
    response: litellm.ModelResponse | litellm.CustomStreamWrapper,
) -> litellm.CustomStreamWrapper:
    """Narrow the result of a call made with `stream=True`."""
    if not isinstance(response, litellm.CustomStreamWrapper):
        raise TypeError(f"expected a stream, got {type(response).__name__}")
    return response
