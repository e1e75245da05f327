"""Budget verdicts: pure functions from spend and budget to a violation or `None`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from .money import format_usd

BudgetSource = Literal["marker", "hook", "cli", "ini"]


@dataclass(frozen=True)
class Budget:
    """A limit in US dollars and where it was set."""

    amount: Decimal
    source: BudgetSource


@dataclass(frozen=True)
class Violation:
    """Spend greater than a budget, with the one-line message that reports it."""

    spent: Decimal
    budget: Budget
    calls: int
    message: str

    @property
    def overshoot(self) -> Decimal:
        return self.spent - self.budget.amount


def _calls(count: int) -> str:
    return f"{count} call" if count == 1 else f"{count} calls"


def _judge(label: str, spent: Decimal, calls: int, budget: Budget | None) -> Violation | None:
    if budget is None or spent <= budget.amount:
        return None
    message = (
        f"{label} exceeded: spent {format_usd(spent)} of {format_usd(budget.amount)} "
        f"({budget.source}) in {_calls(calls)}"
    )
    return Violation(spent, budget, calls, message)


def judge_test(spent: Decimal, calls: int, budget: Budget | None) -> Violation | None:
    """Return the violation of a test's budget, or `None`; spending exactly the budget passes."""
    return _judge("LLM budget", spent, calls, budget)


def judge_run(spent: Decimal, calls: int, budget: Budget | None) -> Violation | None:
    """Return the violation of the run's budget, or `None`."""
    return _judge("LLM run budget", spent, calls, budget)
