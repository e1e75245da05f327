"""Ticket titles and first responses through the team's LiteLLM proxy.

Some teams do not call LiteLLM in their application: they run a LiteLLM proxy
(`litellm --config proxy_config.yaml`) and call it with the OpenAI SDK. This
module is that kind of code. The proxy decides which provider a model name
such as `support-mini` goes to, and prices each call.
"""

from __future__ import annotations

from collections.abc import Mapping

import openai

from .tickets import Ticket

GATEWAY_MODEL = "support-mini"


def gateway_client(
    base_url: str, api_key: str, headers: Mapping[str, str] | None = None
) -> openai.OpenAI:
    """Return an OpenAI client for the proxy at `base_url`, sending `headers` with every request."""
    return openai.OpenAI(
        base_url=base_url, api_key=api_key, default_headers=dict(headers or {}), max_retries=0
    )


def suggest_title(client: openai.OpenAI, ticket: Ticket, model: str = GATEWAY_MODEL) -> str:
    """Return a short title for a ticket, for the agents' queue."""
    response = client.chat.completions.create(
        model=model,
        max_tokens=20,
        messages=[
            {"role": "system", "content": "Write a title of at most eight words for this "
                                          "support ticket. Reply with the title only."},
            {"role": "user", "content": ticket.text},
        ],
    )
    return (response.choices[0].message.content or "").strip()


def stream_first_response(
    client: openai.OpenAI, ticket: Ticket, model: str = GATEWAY_MODEL
) -> str:
    """Stream the first response to a customer and return it, joined."""
    chunks = client.chat.completions.create(
        model=model,
        max_tokens=200,
        stream=True,
        # Asks the provider to send the call's usage in a last chunk.
        stream_options={"include_usage": True},
        messages=[
            {"role": "system", "content": "Greet the customer by name and confirm that the "
                                          "team is looking into the request."},
            {"role": "user", "content": f"From {ticket.customer_name}:\n\n{ticket.text}"},
        ],
    )
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
