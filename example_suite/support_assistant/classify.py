"""Ticket classification with a small, cheap chat model."""

from __future__ import annotations

import json
from typing import Literal, get_args

import litellm

from ._responses import completion_text
from .config import AssistantConfig
from .tickets import Ticket

Category = Literal["billing", "account", "bug", "outage", "other"]
CATEGORIES: tuple[Category, ...] = get_args(Category)

_SYSTEM_PROMPT = f"""\
You route customer-support tickets. Pick exactly one category:
- billing: charges, refunds, invoices, plans and payment methods
- account: sign-in, passwords, profile and team membership
- bug: a feature that behaves wrongly for this customer
- outage: the service is down or unreachable for many users
- other: anything else
Answer with a JSON object of the form {{"category": "<one of {", ".join(CATEGORIES)}>"}}."""


def parse_category(text: str) -> Category:
    """Parse a model's label into a category.

    Accepts the JSON object that the prompt asks for, such as `{"category": "billing"}`,
    or a bare word such as `Billing.`, which models without JSON mode may return
    instead. Case and surrounding punctuation are ignored. Malformed JSON and
    unknown labels give "other", so the ticket goes to a human queue.
    """
    label: object = text
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError:
            return "other"
        label = document.get("category") if isinstance(document, dict) else None
    if not isinstance(label, str):
        return "other"

    word = label.strip().strip(".,;:!\"'`").lower()
    for category in CATEGORIES:
        if word == category:
            return category
    return "other"


def classify_ticket(ticket: Ticket, config: AssistantConfig) -> Category:
    """Classify a ticket with one non-streamed call to the classifier model."""
    response = litellm.completion(
        model=config.classifier_model,
        messages=[
            {"role": "system", "content": _SYSTEM_PROMPT},
            {"role": "user", "content": ticket.text},
        ],
        response_format={"type": "json_object"},
        temperature=0,
        max_tokens=config.classifier_max_tokens,
    )
    return parse_category(completion_text(response))
