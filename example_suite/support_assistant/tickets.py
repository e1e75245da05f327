"""The support tickets and thread messages the assistant works on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Ticket:
    """A customer's support request."""

    customer_name: str
    subject: str
    body: str

    @property
    def text(self) -> str:
        """Subject and body as one text, the form sent to models."""
        return f"{self.subject}\n\n{self.body}"


@dataclass(frozen=True)
class ThreadMessage:
    """One message of a ticket thread, from the customer or an agent."""

    author: str
    text: str


def format_thread(messages: Sequence[ThreadMessage]) -> str:
    """Render a thread as a plain-text transcript, one `author: text` block per message."""
    return "\n\n".join(f"{message.author}: {message.text}" for message in messages)
