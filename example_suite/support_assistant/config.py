"""Model names and generation limits of the assistant."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AssistantConfig:
    """The LiteLLM model names the assistant calls, and their output limits.

    Model names use LiteLLM's `provider/model` form; OpenAI models may omit
    the provider. The API keys come from the environment, as LiteLLM reads
    them: OPENAI_API_KEY and ANTHROPIC_API_KEY.
    """

    classifier_model: str = "gpt-4o-mini"
    reply_model: str = "anthropic/claude-haiku-4-5"
    embedding_model: str = "text-embedding-3-small"
    summary_model: str = "gpt-4o-mini"

    # Output limits in tokens. They cap the cost of one call, too.
    classifier_max_tokens: int = 20
    reply_max_tokens: int = 400
    summary_max_tokens: int = 250
