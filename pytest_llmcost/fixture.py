"""The `llm_cost` fixture: a test's own view of what it has spent so far."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .money import format_usd, parse_usd
from .spend import Spend

if TYPE_CHECKING:
    from .plugin import CostTracker


class LLMCost:
    """The spend of the running test so far; each read first waits for calls in flight.

    In an async test, reading cannot wait for the event loop that reports async
    costs: `await llm_cost.settled()` first.
    """

    def __init__(self, tracker: CostTracker, nodeid: str) -> None:
        self._tracker = tracker
        self._nodeid = nodeid

    def _spend(self) -> Spend:
        self._tracker.settle_for_reading(self._nodeid)
        return self._tracker.ledger.test_spend(self._nodeid)

    async def settled(self) -> None:
        """Let LiteLLM report the costs of this test's async calls, in the test's own loop."""
        await self._tracker.settle_in_loop(self._nodeid)

    @property
    def proxy_headers(self) -> dict[str, str]:
        """The header that tags a LiteLLM proxy request with this test, for --llm-proxy-log.

        Pass it as `extra_headers=` of a call, or as `default_headers=` of an
        OpenAI client that talks to the proxy.
        """
        from .proxy_log import TEST_HEADER

        return {TEST_HEADER: self._nodeid}

    @property
    def usd(self) -> float:
        """Cost so far in US dollars, as the float nearest to the exact total."""
        return float(self._spend().cost)

    @property
    def usd_exact(self) -> Decimal:
        """Cost so far in US dollars, as the exact decimal that budgets compare."""
        return self._spend().cost

    @property
    def calls(self) -> int:
        return self._spend().calls

    @property
    def prompt_tokens(self) -> int:
        return self._spend().prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self._spend().completion_tokens

    @property
    def by_model(self) -> dict[str, dict[str, Any]]:
        """Calls, cost and tokens by model, such as {"openai/gpt-4o-mini": {"calls": 1, ...}}."""
        return {
            name: {
                "calls": model.calls,
                "cost_usd": float(model.cost),
                "prompt_tokens": model.prompt_tokens,
                "completion_tokens": model.completion_tokens,
            }
            for name, model in self._spend().models.items()
        }

    @contextmanager
    def budget(self, usd: object) -> Iterator[None]:
        """Give a block of the test its own budget, enforced like a test budget.

        In stop mode a call over it is rejected before it is sent; either way the
        test fails if the block spent more than `usd`.
        """
        amount = parse_usd(usd, "llm_cost.budget()")
        before = self.usd_exact
        self._tracker.gate.enter_block(self._nodeid, amount, before)
        try:
            yield
        finally:
            self._tracker.gate.leave_block()
            spent = self.usd_exact - before
            if spent > amount:
                self._tracker.record_block_violation(
                    self._nodeid,
                    f"LLM budget exceeded in an llm_cost.budget() block: spent "
                    f"{format_usd(spent)} of {format_usd(amount)}",
                )

    def __repr__(self) -> str:
        return f"<LLMCost {self._nodeid}: {format_usd(self._tracker.ledger.test_cost(self._nodeid))}>"

