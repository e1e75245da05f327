"""The `python -m pytest_llmcost` command: compare two JSON reports outside pytest.

For CI jobs that have both reports as artifacts, such as one that comments on
a pull request. Imports neither pytest nor LiteLLM.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from .baseline import (
    DEFAULT_MIN_USD,
    IncreaseLimit,
    InvalidReportError,
    MissingReportError,
    RunCosts,
    compare,
    percent_from_text,
    read_report,
    usd_from_text,
)
from .report.comparison import comparison_lines
from .report.markdown import code, comparison_markdown

DEFAULT_TOP = 10

# Exit statuses; argparse exits with 2 for usage errors.
EXIT_OK = 0
EXIT_LIMIT_EXCEEDED = 1


def _argument_type(parse: Callable[[str], Decimal]) -> Callable[[str], Decimal]:
    def convert(text: str) -> Decimal:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: {error}") from None

    return convert


def _top(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a whole number of tests that is zero or more"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmcost",
        description="Tools for the reports of pytest-llmcost.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = commands.add_parser(
        "compare",
        help="compare the LLM cost of two JSON reports",
        description=(
            "Compare the LLM cost of a run (NEW) with a baseline (OLD), both JSON reports "
            "written by --llm-cost-json. Exits with 1 when a cost grew over "
            "--max-increase, and with 2 for invalid arguments or reports."
        ),
    )

    command.add_argument("old", metavar="OLD.json", type=Path, help="the baseline report")
    command.add_argument("new", metavar="NEW.json", type=Path, help="the report of the run")

    command.add_argument(
        "--markdown", action="store_true", help="print Markdown, such as for a pull request comment"
    )
    command.add_argument(
        "--max-increase", metavar="PCT", type=_argument_type(percent_from_text),
        help="fail when the total, or a test's cost, grew by more than this many percent",
    )
    command.add_argument(
        "--min-usd", metavar="USD", type=_argument_type(usd_from_text), default=DEFAULT_MIN_USD,
        help=f"increases of at most this many US dollars fail nothing (default {DEFAULT_MIN_USD})",
    )
    command.add_argument(
        "--top", metavar="N", type=_top, default=DEFAULT_TOP,
        help=f"number of tests listed of each kind (default {DEFAULT_TOP}); tests over the "
        "limit are always listed",
    )
    # Errors in the reports are reported with this command's usage line.
    command.set_defaults(command_parser=command)
    return parser


def _read(parser: argparse.ArgumentParser, path: Path, name: str) -> RunCosts:
    try:
        return read_report(path)
    except MissingReportError:
        parser.error(f"{name} report {str(path)!r} not found")
    except InvalidReportError as error:
        parser.error(f"invalid {name} report {str(path)!r}: {error}")


def _compare(arguments: argparse.Namespace, out: TextIO) -> int:
    parser: argparse.ArgumentParser = arguments.command_parser
    old = _read(parser, arguments.old, "OLD")
    new = _read(parser, arguments.new, "NEW")
    comparison = compare(old, new)
    limit = None
    if arguments.max_increase is not None:
        limit = IncreaseLimit(arguments.max_increase, arguments.min_usd)

    failures = []
    if limit is not None:
        run_message = limit.failure_of_run(comparison.total)
        if run_message is not None:
            failures.append(run_message)
        for change in comparison.changed:
            message = limit.failure_of_test(change)
            if message is not None:
                failures.append(f"{change.name}: {message}")

    if arguments.markdown:
        lines = [
            "## LLM cost compared with the baseline",
            "",
            f"Baseline {code(str(arguments.old))}, this run {code(str(arguments.new))}.",
            "",
            *comparison_markdown(comparison, limit, arguments.top),
        ]
    else:
        lines = [
            f"LLM cost of {arguments.new} compared with the baseline {arguments.old}",
            *(f"  {line}" for line in comparison_lines(comparison, limit, arguments.top)),
            *(f"FAIL {failure}" for failure in failures),
        ]
    out.write("\n".join(lines) + "\n")
    return EXIT_LIMIT_EXCEEDED if failures else EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    arguments = build_parser().parse_args(argv)
    return _compare(arguments, out if out is not None else sys.stdout)
