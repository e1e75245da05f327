"""Comparison of a run's LLM cost with an earlier JSON report, and the limit on its growth.

Pure: no pytest, no LiteLLM. JSON numbers are parsed as `Decimal`, so a cost
written as 0.00045 is compared as exactly 0.00045.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any

from .money import decimal_places, format_usd
from .report.json_report import SCHEMA_VERSION
from .report.summary import RunSummary

# Increases of at most this many US dollars fail nothing, so that a few tokens
# more on a tiny test do not fail a build.
DEFAULT_MIN_USD = Decimal("0.0001")

_HINT = "expected a report written by --llm-cost-json"


class InvalidReportError(ValueError):
    """A file that is not a JSON report of a version that this plugin reads, with the reason."""


class MissingReportError(InvalidReportError):
    """A report path where no file exists."""


@dataclass(frozen=True)
class RunCosts:
    """The costs that a comparison reads from one run: the total and each test's cost."""

    total: Decimal
    tests: Mapping[str, Decimal]


@dataclass(frozen=True)
class CostChange:
    """The cost of one test, or of the run, in the baseline and now."""

    name: str
    old: Decimal
    new: Decimal

    @property
    def increase(self) -> Decimal:
        """Return the growth in US dollars, negative for a decrease."""
        return self.new - self.old

    @property
    def percent(self) -> Decimal | None:
        """Return the growth in percent of the old cost, or `None` when the old cost was $0."""
        if self.old == 0:
            return None
        return self.increase * 100 / self.old


@dataclass(frozen=True)
class TestCost:
    """A test that only one of the two runs has, with its cost in that run."""

    __test__ = False  # not a test class, despite the name

    nodeid: str
    cost: Decimal


@dataclass(frozen=True)
class Comparison:
    """The differences between a run's costs and the baseline's."""

    total: CostChange
    changed: tuple[CostChange, ...]
    added: tuple[TestCost, ...]
    removed: tuple[TestCost, ...]
    unchanged: int


@dataclass(frozen=True)
class IncreaseLimit:
    """How much the cost may grow over the baseline before a test or the run fails.

    A cost fails when it grew by more than `max_percent` percent and by more
    than `min_usd` dollars. Growth from $0 counts as more than any percentage.
    """

    max_percent: Decimal
    min_usd: Decimal = DEFAULT_MIN_USD

    def is_exceeded(self, change: CostChange) -> bool:
        increase = change.increase
        if increase <= self.min_usd:
            return False
        # Compared without dividing, so that no rounding decides a verdict.
        return increase * 100 > self.max_percent * change.old

    def describe(self) -> str:
        return f"+{format_plain(self.max_percent)}%"

    def failure_of_test(self, change: CostChange) -> str | None:
        """Return the one-line failure of a test whose cost grew too much, or `None`."""
        if not self.is_exceeded(change):
            return None
        return f"LLM cost grew over the baseline: {_growth(change)}, limit {self.describe()}"

    def failure_of_run(self, change: CostChange) -> str | None:
        """Return the one-line failure of a run whose total cost grew too much, or `None`."""
        if not self.is_exceeded(change):
            return None
        return f"LLM run cost grew over the baseline: {_growth(change)}, limit {self.describe()}"


@dataclass(frozen=True)
class Baseline:
    """The earlier report that a run is compared with, and the limit on growth, if any.

    `costs` is `None` when the file did not exist and a missing baseline was allowed.
    """

    path: Path
    costs: RunCosts | None
    limit: IncreaseLimit | None

    def failure_of_test(self, nodeid: str, cost: Decimal) -> str | None:
        """Return the one-line failure of a test whose cost grew over the limit, or `None`.

        A test that is not in the baseline never fails here, but its cost counts in the total.
        """
        if self.costs is None or self.limit is None or nodeid not in self.costs.tests:
            return None
        return self.limit.failure_of_test(CostChange(nodeid, self.costs.tests[nodeid], cost))

    def failure_of_run(self, total: Decimal) -> str | None:
        """Return the one-line failure of a run whose total grew over the limit, or `None`."""
        if self.costs is None or self.limit is None:
            return None
        return self.limit.failure_of_run(CostChange("total", self.costs.total, total))

    def compare_with(self, costs: RunCosts) -> Comparison | None:
        """Compare a run with the baseline, or return `None` when the baseline file was missing."""
        return compare(self.costs, costs) if self.costs is not None else None


def _non_negative_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        return None
    return value if value.is_finite() and value >= 0 else None


def percent_from_text(text: str) -> Decimal:
    """Parse a limit in percent such as '10', '2.5' or '10%'.

    Raises `ValueError` with the reason for an invalid value.
    """
    value = _non_negative_decimal(text.strip().removesuffix("%"))
    if value is None:
        raise ValueError("expected a percentage that is zero or more, such as 10 or 2.5")
    return value


def usd_from_text(text: str) -> Decimal:
    """Parse an amount of US dollars such as '0.0001'.

    Raises `ValueError` with the reason for an invalid value.
    """
    value = _non_negative_decimal(text)
    if value is None:
        raise ValueError(
            "expected an amount of US dollars that is zero or more, such as 0.0001, "
            "without a currency sign"
        )
    return value


def _growth(change: CostChange) -> str:
    places = decimal_places([change.old, change.new])
    return (
        f"{format_usd(change.old, places)} -> {format_usd(change.new, places)} "
        f"({format_percent(change.percent)})"
    )


def format_plain(number: Decimal) -> str:
    """Format a decimal without exponent or trailing zeros: 10, 2.5, 0.0001."""
    return format(number.normalize(), "f")


def format_percent(percent: Decimal | None) -> str:
    """Format a change in percent with one decimal and a sign: '+12.5%', '-3.0%'.

    Rounded away from zero, so a change just over a limit never reads as the
    limit itself. `None` (growth from $0) reads 'new spend'.
    """
    if percent is None:
        return "new spend"
    rounded = percent.quantize(Decimal("0.1"), rounding=ROUND_UP)
    if rounded == 0:
        return "0.0%"
    sign = "+" if rounded > 0 else "-"
    return f"{sign}{abs(rounded):,f}%"


def compare(old: RunCosts, new: RunCosts) -> Comparison:
    """Compare two runs test by test; the largest increase comes first, decreases last."""
    changed: list[CostChange] = []
    unchanged = 0
    for nodeid in old.tests.keys() & new.tests.keys():
        change = CostChange(nodeid, old.tests[nodeid], new.tests[nodeid])
        if change.increase == 0:
            unchanged += 1
        else:
            changed.append(change)
    changed.sort(key=lambda change: (-change.increase, change.name))
    added = [TestCost(nodeid, new.tests[nodeid]) for nodeid in new.tests.keys() - old.tests.keys()]
    removed = [
        TestCost(nodeid, old.tests[nodeid]) for nodeid in old.tests.keys() - new.tests.keys()
    ]
    return Comparison(
        total=CostChange("total", old.total, new.total),
        changed=tuple(changed),
        added=tuple(sorted(added, key=_costliest_first)),
        removed=tuple(sorted(removed, key=_costliest_first)),
        unchanged=unchanged,
    )


def _costliest_first(test: TestCost) -> tuple[Decimal, str]:
    return (-test.cost, test.nodeid)


def costs_of_summary(summary: RunSummary) -> RunCosts:
    """Return the costs of a finished run, as its JSON report would hold them."""
    return RunCosts(
        total=summary.run.cost,
        tests={nodeid: test.cost for nodeid, test in summary.tests.items()},
    )


def read_report(path: Path) -> RunCosts:
    """Read the costs of a JSON report file.

    Raises `MissingReportError` when the file does not exist, and
    `InvalidReportError` when it cannot be read or is not a report.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingReportError("file not found") from None
    except UnicodeDecodeError as error:
        raise InvalidReportError(f"not a UTF-8 text file ({error.reason}); {_HINT}") from None
    except OSError as error:
        raise InvalidReportError(f"cannot read the file: {error.strerror}") from None
    return parse_report(text)


def parse_report(text: str) -> RunCosts:
    """Parse the costs out of a JSON report of schema version 1.

    Reads only the fields a comparison needs and checks their types, so a
    report from a later plugin version that adds fields still parses.
    """
    try:
        document = json.loads(text, parse_float=Decimal, parse_constant=Decimal)
    except json.JSONDecodeError as error:
        raise InvalidReportError(
            f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno}); {_HINT}"
        ) from None
    if not isinstance(document, dict):
        raise InvalidReportError(f"expected a JSON object, got {_json_type(document)}; {_HINT}")

    _check_schema_version(document)
    totals = _object(document, "totals", "totals")
    tests = _object(document, "tests", "tests")
    costs = {}
    for nodeid, entry in tests.items():
        path = f"tests[{json.dumps(nodeid)}]"
        if not isinstance(entry, dict):
            raise InvalidReportError(
                f"field {path} must be an object, got {_json_type(entry)}; {_HINT}"
            )
        costs[nodeid] = _cost(entry, f"{path}.cost_usd")
    return RunCosts(total=_cost(totals, "totals.cost_usd"), tests=costs)


def _check_schema_version(document: dict[str, Any]) -> None:
    if "schema_version" not in document:
        raise InvalidReportError(f"the field schema_version is missing; {_HINT}")
    version = document["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:
        raise InvalidReportError(
            f"schema_version {_describe(version)} is not supported: this version of "
            f"pytest-llmcost reads schema version {SCHEMA_VERSION}; compare reports written "
            "by the same version of pytest-llmcost"
        )


def _object(document: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    if key not in document:
        raise InvalidReportError(f"the field {path} is missing; {_HINT}")
    value = document[key]
    if not isinstance(value, dict):
        raise InvalidReportError(
            f"field {path} must be an object, got {_json_type(value)}; {_HINT}"
        )
    return value


def _cost(entry: dict[str, Any], path: str) -> Decimal:
    if "cost_usd" not in entry:
        raise InvalidReportError(f"the field {path} is missing; {_HINT}")
    value = entry["cost_usd"]
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise InvalidReportError(
            f"field {path} must be a non-negative number of US dollars, "
            f"got {_describe(value)}; {_HINT}"
        )
    return value


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _describe(value: object) -> str:
    """Describe a JSON value for an error message: the number or string itself, or its type."""
    if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    if isinstance(value, str):
        return f"the string {json.dumps(value[:40])}"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return _json_type(value)
