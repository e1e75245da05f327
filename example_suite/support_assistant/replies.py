"""Customer-facing replies written by the reply model."""

from __future__ import annotations

import litellm

from ._responses import as_stream, chunk_text, completion_text
from .config import AssistantConfig
from .faq import FaqEntry
from .tickets import Ticket

_REPLY_PROMPT = """\
You write replies for a software company's support team. Address the customer by
first name, answer in at most five sentences and do not promise refunds or dates.
If the FAQ answer below fits the ticket, base the reply on it, and otherwise ignore it."""

_ESCALATION_PROMPT = """\
You write short acknowledgements for support tickets that have been escalated to
the on-call engineers. Address the customer by first name, say that engineers are
investigating and that an update will follow, in at most three sentences."""


def draft_reply(ticket: Ticket, faq_entry: FaqEntry | None, config: AssistantConfig) -> str:
    """Draft a reply to a ticket, streamed from the reply model and joined into one text.

    The reply streams because the agent's screen shows it as it is written. This
    function joins the chunks for callers that need the whole text.
    """
    context = "No FAQ entry matched." if faq_entry is None else (
        f"FAQ question: {faq_entry.question}\nFAQ answer: {faq_entry.answer}"
    )
    response = litellm.completion(
        model=config.reply_model,
        messages=[
            {"role": "system", "content": f"{_REPLY_PROMPT}\n\n{context}"},
            {"role": "user", "content": f"From {ticket.customer_name}:\n{ticket.text}"},
        ],
        max_tokens=config.reply_max_tokens,
        stream=True,
    )
    parts = [chunk_text(chunk) for chunk in as_stream(response)]
    return "".join(parts).strip()


def acknowledge_escalation(ticket: Ticket, config: AssistantConfig) -> str:
    """Write the acknowledgement sent when a ticket is escalated, in one non-streamed call.

    Nobody watches this text being written, because it goes out by email, so it is
    not streamed.
    """
    response = litellm.completion(
        model=config.reply_model,
        messages=[
            {"role": "system", "content": _ESCALATION_PROMPT},
            {"role": "user", "content": f"From {ticket.customer_name}:\n{ticket.text}"},
        ],
        max_tokens=config.reply_max_tokens,
    )
    return completion_text(response).strip()
