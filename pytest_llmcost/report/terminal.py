"""The terminal summary and the per-test report section, as plain lines of text."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from ..budgets import Budget
from ..money import decimal_places, format_usd
from ..spend import Spend
from .summary import RunSummary

PHASE_ORDER = ("setup", "call", "teardown")


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}" if number == 1 else f"{number:,} {word}s"


def _percent(spent: Decimal, budget: Decimal) -> str:
    if budget == 0:
        return "no spending allowed"
    # Rounded down, so a run just under its budget never reads 100%.
    # int(): a Decimal zero such as 0E+2 would otherwise print in exponent form.
    return f"{int((spent / budget * 100).to_integral_value(rounding=ROUND_FLOOR))}%"


def describe_spend(spend: Spend) -> str:
    """Return one line such as '$0.0012 in 3 calls (1 failed), 1,200 prompt + 300 completion tokens'."""
    notes = []
    if spend.failed_calls:
        notes.append(f"{spend.failed_calls:,} failed")
    if spend.unpriced_calls:
        notes.append(f"{spend.unpriced_calls:,} unpriced")
    if spend.unaccounted_calls:
        notes.append(f"{spend.unaccounted_calls:,} unaccounted")
    if spend.cache_hits:
        notes.append(f"{spend.cache_hits:,} cache hits")
    if spend.proxy_calls:
        notes.append(f"{spend.proxy_calls:,} via LiteLLM proxy")
    if spend.refused_calls:
        notes.append(f"{spend.refused_calls:,} more rejected before sending")
    detail = f" ({', '.join(notes)})" if notes else ""
    return (
        f"{format_usd(spend.cost)} in {_count(spend.calls, 'call')}{detail}, "
        f"{spend.prompt_tokens:,} prompt + {spend.completion_tokens:,} completion tokens"
    )


def model_table(spend: Spend, indent: str = "") -> list[str]:
    """Return the per-model breakdown as aligned rows, costliest model first."""
    rows = [("model", "calls", "cost", "prompt tokens", "completion tokens")]
    ordered = sorted(spend.models.items(), key=lambda item: (-item[1].cost, item[0]))
    places = decimal_places(model.cost for _, model in ordered)
    for name, model in ordered:
        rows.append(
            (
                name,
                f"{model.calls:,}",
                format_usd(model.cost, places),
                f"{model.prompt_tokens:,}",
                f"{model.completion_tokens:,}",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append(indent + "  ".join(cells).rstrip())
    return lines


def cost_section(spend: Spend, budget: Budget | None) -> str:
    """Return the text of the 'LLM cost' section attached to a test's report."""
    lines = [f"spent {describe_spend(spend)}"]
    if budget is not None:
        lines.append(f"budget {format_usd(budget.amount)} ({budget.source})")
    if len(spend.phases) > 1:
        phases = ", ".join(
            f"{phase} {format_usd(spend.phases[phase])}"
            for phase in PHASE_ORDER
            if phase in spend.phases
        )
        lines.append(f"by phase: {phases}")
    lines.extend(model_table(spend))
    return "\n".join(lines)


def _budget_line(label: str, spent: Decimal, budget: Budget) -> str:
    if spent > budget.amount:
        share = f"over by {format_usd(spent - budget.amount)}"
    else:
        share = _percent(spent, budget.amount)
    return f"{label}: {format_usd(spent)} of {format_usd(budget.amount)} ({budget.source}), {share}"


def summary_lines(summary: RunSummary, top: int) -> list[str]:
    """Return the lines of the terminal summary section."""
    lines = [f"total: {describe_spend(summary.run)}"]
    version = summary.litellm_version or "not installed"
    lines.append(f"prices: {summary.price_map} price map (LiteLLM {version})")

    if summary.run_budget is not None:
        lines.append(_budget_line("run budget", summary.run.cost, summary.run_budget))
    budgeted = [test for test in summary.tests.values() if test.budget is not None]
    if budgeted:
        over = sum(1 for test in budgeted if test.violation is not None)
        lines.append(
            f"test budgets: {_count(len(budgeted), 'test')} with a budget, {over:,} over budget"
        )
        for test in summary.violations():
            assert test.violation is not None
            lines.append(
                f"  over budget: {test.nodeid} spent {format_usd(test.violation.spent)} "
                f"of {format_usd(test.violation.budget.amount)} ({test.violation.budget.source})"
            )

    if summary.run.models:
        lines.append("")
        lines.append("cost by model:")
        lines.extend(model_table(summary.run, indent="  "))

    costliest = summary.costliest(top)
    if costliest:
        lines.append("")
        lines.append(f"costliest tests (top {len(costliest)}):")
        places = decimal_places(test.cost for test in costliest)
        cost_width = max(len(format_usd(test.cost, places)) for test in costliest)
        for test in costliest:
            notes = ""
            if test.spend.failed_calls:
                notes += f" ({test.spend.failed_calls:,} failed)"
            if test.budget is not None:
                notes += f" of {format_usd(test.budget.amount)}"
                if test.violation is not None:
                    notes += " OVER BUDGET"
            lines.append(
                f"  {format_usd(test.cost, places).rjust(cost_width)}  "
                f"{_count(test.spend.calls, 'call')}{notes}  {test.nodeid}"
            )

    if summary.outside.calls:
        lines.append("")
        lines.append(f"outside tests: {describe_spend(summary.outside)}")

    if summary.run.unpriced_calls:
        models = ", ".join(
            f"{name} ({_count(count, 'call')})"
            for name, count in sorted(summary.run.unpriced_models.items())
        )
        lines.append("")
        lines.append(
            f"unpriced calls: {summary.run.unpriced_calls:,}, not counted in the total: {models}"
        )
    if summary.run.unaccounted_calls:
        lines.append(
            f"unaccounted calls: {summary.run.unaccounted_calls:,}, whose cost LiteLLM never "
            "reported; the total may be low"
        )
    return lines
