"""Failure messages of budget verdicts, and how they change a test report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .money import format_usd

if TYPE_CHECKING:
    from .report.summary import Outcome
    from .spend import Spend
    from .spendgate import Refusal


def fail_report(report: pytest.TestReport, message: str, section: str = "LLM budget") -> None:
    """Turn a passed test report into a failure with a one-line reason."""
    if report.passed:
        report.outcome = "failed"
        report.longrepr = message
    elif report.failed:
        report.sections.append((section, message))


def refused_note(refusals: list[Refusal]) -> str:
    if not refusals:
        return ""
    count = len(refusals)
    return f"; {count} further call{'s' if count > 1 else ''} rejected before sending"


def refusal_message(refusals: list[Refusal]) -> str:
    """Return the failure line of a test whose calls were rejected at its exact budget."""
    first = refusals[0]
    label = {
        "test": "LLM budget",
        "run": "LLM run budget",
        "block": "LLM budget of an llm_cost.budget() block",
    }[first.scope]
    count = len(refusals)
    source = "" if first.scope == "block" else f" ({first.budget.source})"
    return (
        f"{label} used up: spent {format_usd(first.spent)} of "
        f"{format_usd(first.budget.amount)}{source}; "
        f"{count} call{'s' if count > 1 else ''} rejected before sending"
    )


def unpriced_message(spend: Spend) -> str | None:
    if not spend.unpriced_calls and not spend.unaccounted_calls:
        return None
    parts = []
    if spend.unpriced_calls:
        models = ", ".join(sorted(spend.unpriced_models))
        parts.append(f"{spend.unpriced_calls} call(s) without a price ({models})")
    if spend.unaccounted_calls:
        parts.append(f"{spend.unaccounted_calls} call(s) whose cost LiteLLM never reported")
    return (
        f"LLM cost unknown: {' and '.join(parts)}; register a price with "
        "litellm.register_model(), or run with --llm-unpriced=warn"
    )


def outcome_of(report: pytest.TestReport) -> Outcome:
    # pytest-xdist reports a test whose worker crashed with the phase "???".
    if report.when not in ("setup", "teardown"):
        if report.passed:
            return "passed"
        return "skipped" if report.skipped else "failed"
    if report.failed:
        return "error"
    return "skipped" if report.skipped else "passed"
