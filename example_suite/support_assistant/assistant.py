"""The ticket pipeline: classify, then escalate or answer from the FAQ."""

from __future__ import annotations

from dataclasses import dataclass

from .classify import Category, classify_ticket
from .config import AssistantConfig
from .faq import FaqIndex, FaqMatch
from .replies import acknowledge_escalation, draft_reply
from .tickets import Ticket


@dataclass(frozen=True)
class TicketOutcome:
    """The result of handling a ticket: category, reply to send, escalation and FAQ match."""

    category: Category
    reply: str
    escalated: bool
    faq_match: FaqMatch | None = None


class SupportAssistant:
    """Handles incoming tickets with the models named in its config."""

    def __init__(self, faq_index: FaqIndex, config: AssistantConfig | None = None) -> None:
        self.faq_index = faq_index
        self.config = config or AssistantConfig()

    def handle_ticket(self, ticket: Ticket) -> TicketOutcome:
        """Classify a ticket, then escalate an outage or draft a reply from the closest FAQ entry.

        An outage costs one classification and one acknowledgement. Any other
        ticket costs one classification, one question embedding and one reply.
        """
        category = classify_ticket(ticket, self.config)
        if category == "outage":
            reply = acknowledge_escalation(ticket, self.config)
            return TicketOutcome(category, reply, escalated=True)

        match = self.faq_index.best_match(ticket.text)
        reply = draft_reply(ticket, match.entry, self.config)
        return TicketOutcome(category, reply, escalated=False, faq_match=match)
