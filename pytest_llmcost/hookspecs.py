"""Hooks that conftest.py files and other plugins implement to extend pytest-llmcost.

Under pytest-xdist, `pytest_llmcost_price_call`, `pytest_llmcost_call_settled` and
`pytest_llmcost_test_budget` run on the worker that runs the test, which is the
process that made the call. `pytest_llmcost_modify_report` runs on the controller only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pluggy
import pytest

from .spend import CallRecord

hookspec = pluggy.HookspecMarker("pytest")



@hookspec(firstresult=True)
def pytest_llmcost_price_call(call: CallRecord) -> float | Decimal | None:
    """Price a call that LiteLLM could not price, in US dollars, or return None.

    Called once per unpriced call, on the thread that reported it, before the
    test's budget is judged. The first non-None result wins. A call priced this
    way counts as priced, and the reports count it under `hook_priced_calls`.
    Return a finite, non-negative `float`, `int` or `Decimal`.
    """


@hookspec
def pytest_llmcost_call_settled(call: CallRecord) -> None:
    """Receive every call once, when it settles: priced, failed, unpriced or unaccounted.

    Called on the process and, often, the LiteLLM logging thread that reported
    the call, so an implementation must be quick and thread-safe.
    """


@hookspec(firstresult=True)
def pytest_llmcost_test_budget(item: pytest.Item) -> float | Decimal | str | None:
    """Return the budget in US dollars of a test that has no `llm_budget` marker, or None.

    Called once per test at collection. Precedence: marker, this hook, then
    --llm-test-budget, then the llm_test_budget ini key.
    """


@hookspec
def pytest_llmcost_modify_report(report: dict[str, Any]) -> None:
    """Edit the JSON report in place before it is written (controller only)."""
