"""The Markdown report, for CI pages such as the job summary of GitHub Actions.

Pure: the renderers take a `RunSummary`, and the comparison with a baseline if
there is one, and return text. Test ids and model names go into code spans, and
other text is escaped, so that characters such as `|`, backticks, `<`, `*` or a
newline in a parametrized test id neither break a table nor inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from ..baseline import Baseline, Comparison, CostChange, IncreaseLimit, TestCost, format_percent
from ..budgets import Budget
from ..money import decimal_places, format_usd
from .comparison import counts_line, shown_changes, signed_usd
from .summary import RunSummary, TestSummary
from .terminal import describe_spend

BAR_WIDTH = 10
_FULL_BLOCK = "█"
_PARTIAL_BLOCKS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
_EMPTY_BLOCK = "░"

# Characters that could start markup in running text; each gets a backslash.
# `$` is among them because GitHub renders $...$ as math.
_TEXT_SPECIALS = frozenset("\\`*_[]<>&|$~#!")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BACKTICK_RUN = re.compile(r"`+")
_PIPE_AFTER_BACKSLASHES = re.compile(r"\\*\|")


# -- escaping -------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """Replace line breaks, which would end a table row, by a visible `\\n`."""
    return _LINE_BREAK.sub(r"\\n", text)


def code(text: str) -> str:
    """Return `text` as inline code that is safe inside a table cell.

    GFM splits table rows at pipes before it parses code spans. Renderers that
    pair backslashes while splitting, such as micromark, read two backslashes
    and a pipe as a backslash and a cell border, so a pipe after an odd number
    of backslashes goes between two code spans, as text.
    """
    text = _one_line(text)
    segments = []
    start = 0
    for match in _PIPE_AFTER_BACKSLASHES.finditer(text):
        if len(match.group()) % 2 == 0:  # an odd number of backslashes, then the pipe
            segments.append(text[start : match.end() - 1])
            start = match.end()
    segments.append(text[start:])
    return "\\|".join(_code_span(segment) if segment else "" for segment in segments)


def _code_span(text: str) -> str:
    """Return `text` as one code span, with each pipe escaped for GFM tables.

    Inside a code span nothing is markup, and the fence is one backtick longer
    than the longest run of backticks in the text.
    """
    text = text.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # A code span drops one space at each end when both ends have one, so padding
    # keeps text that starts or ends with a space or a backtick intact.
    if text.startswith(("`", " ")) or text.endswith(("`", " ")):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def escape_text(text: str) -> str:
    """Escape running text so that it renders literally, on one line."""
    return "".join(f"\\{char}" if char in _TEXT_SPECIALS else char for char in _one_line(text))


def usd(amount: Decimal, places: int | None = None) -> str:
    return escape_text(format_usd(amount, places))


# -- building blocks ------------------------------------------------------------------------


def bar(value: Decimal, largest: Decimal, width: int = BAR_WIDTH) -> str:
    """Return a bar of block characters for `value`, `width` characters long at `largest`.

    The bar is drawn in eighths of a character, and a value above zero shows at least one eighth.
    """
    if largest <= 0 or value <= 0:
        return ""
    eighths = int((min(value / largest, Decimal(1)) * width * 8).to_integral_value(ROUND_HALF_UP))
    full, rest = divmod(max(eighths, 1), 8)
    return _FULL_BLOCK * full + _PARTIAL_BLOCKS[rest]


def gauge(spent: Decimal, limit: Decimal, width: int = BAR_WIDTH) -> str:
    """Return a bar of the share of a budget spent, on a track as long as the whole budget."""
    if limit <= 0:
        filled = _FULL_BLOCK * width if spent > 0 else ""
    else:
        filled = bar(spent, limit, width)
    return filled + _EMPTY_BLOCK * (width - len(filled))


def table(
    header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()
) -> list[str]:
    """Return a GFM table whose columns with an index in `numeric` are aligned right."""
    right = set(numeric)
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if column in right else "---" for column in range(len(header))) + "|",
    ]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _share(spent: Decimal, limit: Decimal) -> str:
    if limit == 0:
        return "no spending allowed" if spent == 0 else "over"
    # Rounded down, like the terminal summary, so spend just under a budget never reads 100%.
    return f"{int((spent / limit * 100).to_integral_value(rounding=ROUND_FLOOR))}%"


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}" if number == 1 else f"{number:,} {word}s"


# -- the run --------------------------------------------------------------------------------


def _overview(summary: RunSummary) -> list[str]:
    version = summary.litellm_version or "not installed"
    lines = [
        "## LLM cost",
        "",
        f"**Total:** {escape_text(describe_spend(summary.run))}.",
        f"Prices from the {summary.price_map} price map (LiteLLM {escape_text(version)}).",
    ]
    if not summary.complete:
        lines.append("This report is incomplete: some calls may be missing.")
    if summary.run_violation is not None:
        lines += ["", f"**FAIL** {escape_text(summary.run_violation.message)}"]
    return lines


def _budget_groups(summary: RunSummary) -> dict[Budget, list[TestSummary]]:
    groups: dict[Budget, list[TestSummary]] = {}
    for test in summary.tests.values():
        if test.budget is not None:
            groups.setdefault(test.budget, []).append(test)
    return dict(sorted(groups.items(), key=lambda item: (item[0].amount, item[0].source)))


def _budgets(summary: RunSummary) -> list[str]:
    rows = []
    budget = summary.run_budget
    if budget is not None:
        spent = summary.run.cost
        over = f"yes, by {usd(spent - budget.amount)}" if spent > budget.amount else "no"
        rows.append(
            [f"run ({budget.source})", usd(budget.amount), usd(spent),
             _share(spent, budget.amount), over, gauge(spent, budget.amount)]
        )
    for budget, tests in _budget_groups(summary).items():
        spent = max(test.cost for test in tests)
        over_count = sum(1 for test in tests if test.violation is not None)
        over = f"{over_count:,} of {len(tests):,}" if over_count else "none"
        rows.append(
            [f"{_count(len(tests), 'test')} ({budget.source})", usd(budget.amount),
             f"up to {usd(spent)}", _share(spent, budget.amount), over,
             gauge(spent, budget.amount)]
        )
    if not rows:
        return []
    header = ["budget", "limit", "spent", "used", "over budget", ""]
    return ["### Budgets", "", *table(header, rows, numeric=(1, 2, 3))]


def _models(summary: RunSummary) -> list[str]:
    models = sorted(summary.run.models.items(), key=lambda item: (-item[1].cost, item[0]))
    if not models:
        return []
    places = decimal_places(model.cost for _, model in models)
    largest = models[0][1].cost
    rows = [
        [code(name), f"{model.calls:,}", usd(model.cost, places), f"{model.prompt_tokens:,}",
         f"{model.completion_tokens:,}", bar(model.cost, largest)]
        for name, model in models
    ]
    header = ["model", "calls", "cost", "prompt tokens", "completion tokens", ""]
    return ["### Cost by model", "", *table(header, rows, numeric=(1, 2, 3, 4))]


def _budget_cell(test: TestSummary) -> str:
    if test.budget is None:
        return ""
    cell = f"{usd(test.budget.amount)} ({test.budget.source})"
    if test.violation is not None:
        cell += " **over**"
    return cell


def _costliest(summary: RunSummary, top: int) -> list[str]:
    tests = summary.costliest(top)
    if not tests:
        return []
    places = decimal_places(test.cost for test in tests)
    rows = [
        [code(test.nodeid), test.outcome, f"{test.spend.calls:,}", usd(test.cost, places),
         _budget_cell(test), bar(test.cost, tests[0].cost)]
        for test in tests
    ]
    header = ["test", "outcome", "calls", "cost", "budget", ""]
    return [f"### Costliest tests (top {len(tests)})", "", *table(header, rows, numeric=(2, 3))]


def _failures(summary: RunSummary) -> list[str]:
    tests = summary.violations()
    if not tests and summary.run_violation is None:
        return []
    lines = ["### Budget failures", ""]
    if summary.run_violation is not None:
        lines += [f"**Run:** {escape_text(summary.run_violation.message)}", ""]
    if tests:
        places = decimal_places(test.cost for test in tests)
        largest = max(test.cost for test in tests)
        rows = []
        for test in tests:
            violation = test.violation
            assert violation is not None
            rows.append(
                [code(test.nodeid), usd(violation.spent, places),
                 f"{usd(violation.budget.amount)} ({violation.budget.source})",
                 usd(violation.overshoot, places), bar(violation.spent, largest)]
            )
        lines += table(["test", "spent", "budget", "over by", ""], rows, numeric=(1, 2, 3))
    return lines


def _notes(summary: RunSummary) -> list[str]:
    notes = []
    if summary.outside.calls:
        notes.append(f"- Outside tests: {escape_text(describe_spend(summary.outside))}.")
    if summary.run.unpriced_calls:
        models = ", ".join(
            f"{code(name)} ({_count(count, 'call')})"
            for name, count in sorted(summary.run.unpriced_models.items())
        )
        notes.append(
            f"- Unpriced calls: {summary.run.unpriced_calls:,}, not counted in the total: {models}."
        )
    if summary.run.unaccounted_calls:
        notes.append(
            f"- Unaccounted calls: {summary.run.unaccounted_calls:,}, whose cost LiteLLM never "
            "reported; the total may be low."
        )
    return ["### Notes", "", *notes] if notes else []


# -- the comparison -------------------------------------------------------------------------


def _total_paragraph(comparison: Comparison, limit: IncreaseLimit | None) -> list[str]:
    total = comparison.total
    places = decimal_places([total.old, total.new])
    line = (
        f"**Total:** {usd(total.old, places)} → {usd(total.new, places)}, "
        f"{escape_text(signed_usd(total.increase, places))} "
        f"({escape_text(format_percent(total.percent))})"
    )
    if limit is not None:
        line += f", limit {escape_text(limit.describe())}"
        if limit.is_exceeded(total):
            line += ": **exceeded**"
    counts = counts_line(comparison, limit)
    lines = [line + ".", escape_text(counts[0].upper() + counts[1:]) + "."]
    message = limit.failure_of_run(total) if limit is not None else None
    if message is not None:
        lines += ["", f"**FAIL** {escape_text(message)}"]
    return lines


def _change_table(changes: Sequence[CostChange], limit: IncreaseLimit | None) -> list[str]:
    places = decimal_places(
        amount for change in changes for amount in (change.old, change.new, abs(change.increase))
    )
    largest = max(abs(change.increase) for change in changes)
    header = ["test", "before", "now", "change", "percent", ""]
    if limit is not None:
        header.append("limit")
    rows = []
    for change in changes:
        row = [code(change.name), usd(change.old, places), usd(change.new, places),
               escape_text(signed_usd(change.increase, places)),
               escape_text(format_percent(change.percent)), bar(abs(change.increase), largest)]
        if limit is not None:
            row.append("**exceeded**" if limit.is_exceeded(change) else "")
        rows.append(row)
    return table(header, rows, numeric=(1, 2, 3, 4))


def _test_cost_table(tests: Sequence[TestCost], cost_header: str) -> list[str]:
    places = decimal_places(test.cost for test in tests)
    largest = max(test.cost for test in tests)
    rows = [[code(test.nodeid), usd(test.cost, places), bar(test.cost, largest)] for test in tests]
    return table(["test", cost_header, ""], rows, numeric=(1,))


def _more(total: int, shown: int) -> list[str]:
    return ["", f"… and {total - shown:,} more."] if total > shown else []


def comparison_markdown(
    comparison: Comparison, limit: IncreaseLimit | None, top: int, level: int = 3
) -> list[str]:
    """Return the comparison with a baseline as Markdown lines, without a heading.

    Lists up to `top` tests of each kind, and every test over the limit.
    Subsections get headings of `level`.
    """
    heading = "#" * level
    lines = _total_paragraph(comparison, limit)

    changes = shown_changes(comparison, limit, top)
    if changes:
        lines += ["", f"{heading} Changed tests, largest increase first", ""]
        lines += _change_table(changes, limit)
        lines += _more(len(comparison.changed), len(changes))
    added = comparison.added[:top]
    if added:
        lines += ["", f"{heading} New tests", "", *_test_cost_table(added, "cost")]
        lines += _more(len(comparison.added), len(added))
    removed = comparison.removed[:top]
    if removed:
        lines += ["", f"{heading} Removed tests", ""]
        lines += _test_cost_table(removed, "cost in the baseline")
        lines += _more(len(comparison.removed), len(removed))
    return lines


def _baseline_section(baseline: Baseline, comparison: Comparison | None, top: int) -> list[str]:
    lines = ["### Compared with the baseline", ""]
    if comparison is None:
        missing = f"Baseline {code(str(baseline.path))} not found, so there is nothing to compare"
        return [*lines, f"{missing} ({code('--llm-baseline-missing=ok')})."]
    lines += [f"Baseline: {code(str(baseline.path))}.", ""]
    return lines + comparison_markdown(comparison, baseline.limit, top, level=4)


def render_markdown(
    summary: RunSummary,
    top: int,
    baseline: Baseline | None = None,
    comparison: Comparison | None = None,
) -> str:
    """Return the Markdown report of a run, with up to `top` costliest tests."""
    sections = [
        _overview(summary),
        _budgets(summary),
        _models(summary),
        _costliest(summary, top),
        _failures(summary),
        _notes(summary),
    ]
    if baseline is not None:
        sections.append(_baseline_section(baseline, comparison, top))
    return "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"
