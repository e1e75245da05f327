"""The immutable summary of a run's LLM spend that every report format renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from ..budgets import Budget, Violation
from ..spend import Spend

Outcome = Literal["passed", "failed", "skipped", "error"]


@dataclass(frozen=True, slots=True)
class TestSummary:
    """One test's spend, budget and outcome.

    With slots, an instance is one object for the garbage collector instead of
    two, and a report keeps one instance per test that spent or had a budget.
    """

    __test__ = False  # not a test class, despite the name

    nodeid: str
    outcome: Outcome
    spend: Spend
    budget: Budget | None
    violation: Violation | None

    @property
    def cost(self) -> Decimal:
        return self.spend.cost


@dataclass(frozen=True)
class RunSummary:
    """Everything the reports show about one run."""

    plugin_version: str
    litellm_version: str | None
    price_map: str
    run_budget: Budget | None
    test_budget: Budget | None
    run: Spend
    outside: Spend
    tests: dict[str, TestSummary] = field(default_factory=dict)
    run_violation: Violation | None = None
    complete: bool = True

    @property
    def has_activity(self) -> bool:
        """True when the run made LLM calls or set a budget, so there is something to show."""
        return (
            self.run.calls > 0
            or self.run_budget is not None
            or self.test_budget is not None
            or any(test.budget is not None for test in self.tests.values())
        )

    def costliest(self, count: int) -> list[TestSummary]:
        """Return the `count` tests that spent most, costliest first, ties by node id."""
        spending = [test for test in self.tests.values() if test.spend.calls > 0]
        spending.sort(key=lambda test: (-test.cost, test.nodeid))
        return spending[:count]

    def violations(self) -> list[TestSummary]:
        return sorted(
            (test for test in self.tests.values() if test.violation is not None),
            key=lambda test: test.nodeid,
        )
