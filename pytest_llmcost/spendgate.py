"""The hard stop: deciding, before each LiteLLM call is sent, whether a budget allows it.

`litellm_bridge` calls `SpendGate.check` from LiteLLM's own pre-request budget
check. A call is rejected once the test has spent its budget, or the run its
run budget: spending exactly a budget passes, but nothing more may be spent.
Nothing here imports LiteLLM.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from .budgets import Budget
from .ledger import Ledger, Location
from .money import format_usd

Scope = Literal["test", "run", "block"]


@dataclass(frozen=True)
class Refusal:
    """A call rejected before it was sent, and the budget that rejected it."""

    nodeid: str | None
    scope: Scope
    spent: Decimal
    budget: Budget

    @property
    def _owner(self) -> str:
        if self.scope == "run" or not self.nodeid:
            return "the test run"
        if self.scope == "block":
            return f"an llm_cost.budget() block of {self.nodeid}"
        return self.nodeid

    @property
    def spent_text(self) -> str:
        return f"{format_usd(self.spent)} spent by {self._owner}"

    @property
    def message(self) -> str:
        """Return the message of the `BudgetExceededError` that rejects the call."""
        label = "LLM run budget" if self.scope == "run" else "LLM budget"
        state = "exceeded" if self.spent > self.budget.amount else "used up"
        return (
            f"{label} {state}: {self._owner} spent {format_usd(self.spent)} of "
            f"{format_usd(self.budget.amount)} ({self.budget.source}); pytest-llmcost "
            "rejected the call before it was sent"
        )

    @property
    def budget_text(self) -> str:
        what = f"{self.scope} budget"
        return (
            f"{format_usd(self.budget.amount)} ({self.budget.source} {what}); "
            "pytest-llmcost rejected the call before it was sent"
        )


class SpendGate:
    """Rejects LiteLLM calls of a test or run that has spent its budget."""

    def __init__(self, ledger: Ledger, run_budget: Budget | None) -> None:
        self.ledger = ledger
        self.run_budget = run_budget
        # The run's spend so far; under pytest-xdist, the total shared by all workers.
        self.run_spent: Callable[[], Decimal] = lambda: ledger.run_totals()[0]
        self._test: tuple[str, Budget] | None = None
        # Open llm_cost.budget() blocks: node id, amount, and the test's spend at entry.
        self._blocks: list[tuple[str, Decimal, Decimal]] = []
        self._refusals: dict[str | None, list[Refusal]] = {}
        self._lock = threading.Lock()
        # The first call rejected by the run budget: the run can spend nothing more.
        self.run_used_up: Refusal | None = None
        # Set by the LiteLLM bridge: waits until LiteLLM has booked the costs of calls
        # that already returned, so a loop of calls stops right after the one that
        # crossed the budget.
        self.wait_for_booked_costs: Callable[[], None] = lambda: None
        # LiteLLM's max_budget and _current_cost as they were before the gate replaced them.
        self.saved_litellm_budget: tuple[object, object] | None = None

    @property
    def active(self) -> bool:
        """True when some budget is in force, so calls must be checked."""
        return self.run_budget is not None or self._test is not None or bool(self._blocks)

    def enter_test(self, nodeid: str, budget: Budget | None) -> None:
        self._test = (nodeid, budget) if budget is not None else None

    def leave_test(self) -> None:
        self._test = None
        self._blocks = []

    def enter_block(self, nodeid: str, amount: Decimal, spent_before: Decimal) -> None:
        """Start enforcing the budget of an `llm_cost.budget()` block of a test."""
        self._blocks = [*self._blocks, (nodeid, amount, spent_before)]

    def leave_block(self) -> None:
        self._blocks = self._blocks[:-1]

    def check(self, location: Location) -> Refusal | None:
        """Return the refusal of a call about to be sent from `location`, or `None` to allow it."""
        test = self._test
        run_budget = self.run_budget
        blocks = self._blocks
        if run_budget is None and test is None and not blocks:
            return None
        self.wait_for_booked_costs()

        refusal = None
        if run_budget is not None:
            spent = self.run_spent()
            if spent >= run_budget.amount:
                refusal = Refusal(location.nodeid, "run", spent, run_budget)
        if refusal is None and test is not None and location.nodeid == test[0]:
            spent = self.ledger.test_cost(test[0])
            if spent >= test[1].amount:
                refusal = Refusal(location.nodeid, "test", spent, test[1])
        for nodeid, amount, spent_before in blocks:
            if refusal is not None or location.nodeid != nodeid:
                continue
            spent = self.ledger.test_cost(nodeid) - spent_before
            if spent >= amount:
                refusal = Refusal(nodeid, "block", spent, Budget(amount, "marker"))

        if refusal is not None:
            with self._lock:
                self._refusals.setdefault(location.nodeid, []).append(refusal)
                if refusal.scope == "run":
                    self.run_used_up = refusal
            self.ledger.record_refusal(location.nodeid)
        return refusal

    def refusals(self, nodeid: str | None) -> list[Refusal]:
        with self._lock:
            return list(self._refusals.get(nodeid, ()))
