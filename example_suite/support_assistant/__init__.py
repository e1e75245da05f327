"""A small customer-support assistant built on LiteLLM.

It classifies tickets, finds the closest FAQ entry by embeddings, drafts
replies and summarises ticket threads. The `example_suite/tests` directory
tests it offline against mocked provider APIs and prices every call with
pytest-llmcost.
"""

from .assistant import SupportAssistant, TicketOutcome
from .classify import CATEGORIES, Category, classify_ticket, parse_category
from .config import AssistantConfig
from .faq import FaqEntry, FaqIndex, FaqMatch, cosine_similarity
from .gateway import gateway_client, stream_first_response, suggest_title
from .replies import acknowledge_escalation, draft_reply
from .summaries import stream_thread_summary, summarize_thread
from .tickets import ThreadMessage, Ticket

__all__ = [
    "CATEGORIES",
    "AssistantConfig",
    "Category",
    "FaqEntry",
    "FaqIndex",
    "FaqMatch",
    "SupportAssistant",
    "ThreadMessage",
    "Ticket",
    "TicketOutcome",
    "acknowledge_escalation",
    "classify_ticket",
    "cosine_similarity",
    "draft_reply",
    "gateway_client",
    "parse_category",
    "stream_first_response",
    "stream_thread_summary",
    "suggest_title",
    "summarize_thread",
]
