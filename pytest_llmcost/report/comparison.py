"""The comparison with a baseline as plain lines, for the terminal and the compare command."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ..baseline import Baseline, Comparison, CostChange, IncreaseLimit, TestCost, format_percent
from ..money import decimal_places, format_usd


def signed_usd(amount: Decimal, places: int | None = None) -> str:
    """Format a change in dollars with its sign: '+$0.0015', '-$0.0002', '$0.0000'."""
    text = format_usd(abs(amount), places)
    if amount > 0:
        return f"+{text}"
    if amount < 0:
        return f"-{text}"
    return text


def shown_changes(
    comparison: Comparison, limit: IncreaseLimit | None, top: int
) -> list[CostChange]:
    """Return the changed tests to list: the `top` largest increases, then any over the limit."""
    shown = list(comparison.changed[:top])
    if limit is not None:
        shown += [change for change in comparison.changed[top:] if limit.is_exceeded(change)]
    return shown


def total_line(comparison: Comparison, limit: IncreaseLimit | None) -> str:
    total = comparison.total
    places = decimal_places([total.old, total.new])
    line = (
        f"total: {format_usd(total.old, places)} -> {format_usd(total.new, places)}, "
        f"{signed_usd(total.increase, places)} ({format_percent(total.percent)})"
    )
    if limit is not None:
        line += f", limit {limit.describe()}"
        if limit.is_exceeded(total):
            line += " EXCEEDED"
    return line


def counts_line(comparison: Comparison, limit: IncreaseLimit | None) -> str:
    line = (
        f"tests: {len(comparison.changed):,} changed, {len(comparison.added):,} new, "
        f"{len(comparison.removed):,} removed, {comparison.unchanged:,} unchanged"
    )
    if limit is not None:
        over = sum(1 for change in comparison.changed if limit.is_exceeded(change))
        line += f", {over:,} over the limit"
    return line


def comparison_lines(comparison: Comparison, limit: IncreaseLimit | None, top: int) -> list[str]:
    """Return the comparison: the totals, then up to `top` tests of each kind."""
    lines = [total_line(comparison, limit), counts_line(comparison, limit)]

    shown = shown_changes(comparison, limit, top)
    if shown:
        lines.append("changed tests, largest increase first:")
        lines.extend(_change_rows(shown, limit))
        hidden = len(comparison.changed) - len(shown)
        if hidden:
            lines.append(f"  ... and {hidden:,} more")
    lines.extend(_test_costs("new tests:", comparison.added, top))
    lines.extend(_test_costs("removed tests (cost in the baseline):", comparison.removed, top))
    return lines


def baseline_lines(baseline: Baseline, comparison: Comparison | None, top: int) -> list[str]:
    """Return the baseline section of the terminal summary, starting with a blank line."""
    if comparison is None:
        missing = f"baseline: {baseline.path} not found, nothing to compare"
        return ["", f"{missing} (--llm-baseline-missing=ok)"]
    lines = comparison_lines(comparison, baseline.limit, top)
    return ["", f"baseline: {baseline.path}", *(f"  {line}" for line in lines)]


def _change_rows(changes: Sequence[CostChange], limit: IncreaseLimit | None) -> list[str]:
    places = decimal_places(
        amount for change in changes for amount in (change.old, change.new, change.increase)
    )
    rows = []
    for change in changes:
        note = "  OVER LIMIT" if limit is not None and limit.is_exceeded(change) else ""
        rows.append(
            (
                signed_usd(change.increase, places),
                format_percent(change.percent),
                f"{format_usd(change.old, places)} -> {format_usd(change.new, places)}",
                f"{change.name}{note}",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return [
        f"  {increase.rjust(widths[0])}  {percent.rjust(widths[1])}  "
        f"{costs.ljust(widths[2])}  {name}"
        for increase, percent, costs, name in rows
    ]


def _test_costs(title: str, tests: Sequence[TestCost], top: int) -> list[str]:
    shown = tests[:top]
    if not shown:
        return []
    places = decimal_places(test.cost for test in shown)
    width = max(len(format_usd(test.cost, places)) for test in shown)
    lines = [title]
    lines.extend(f"  {format_usd(test.cost, places).rjust(width)}  {test.nodeid}" for test in shown)
    if len(tests) > len(shown):
        lines.append(f"  ... and {len(tests) - len(shown):,} more")
    return lines
