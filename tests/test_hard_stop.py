"""Spending stops at the budget: calls over budget are rejected before any request is sent.

Each gpt-4o-mini call through the mock provider costs
1000 * 1.5e-07 + 500 * 6e-07 = $0.00045, so with a $0.001 budget the third call
($0.00135 in all) crosses it and the fourth is rejected.
"""

from __future__ import annotations

import litellm
import pytest

from llmcost_testing import report, run, test_entry

CALL = """
import litellm
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]

def ask(model="gpt-4o-mini"):
    return litellm.completion(model=model, messages=MESSAGES)
"""


def test_sync_runaway_stops(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0.001)
def test_runaway(provider):
    try:
        for _ in range(10):
            ask()
    finally:
        print("requests sent:", len(provider.requests))
"""
    )
    result = run(llm_pytester, "-s")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*requests sent: 3",
            "E * litellm.exceptions.BudgetExceededError: Budget has been exceeded! Current cost: "
            "$0.00135 spent by test_suite.py::test_runaway, Max budget: $0.0010 (marker test "
            "budget); pytest-llmcost rejected the call before it was sent",
        ]
    )
    result.stdout.fnmatch_lines(
        ["LLM budget exceeded: spent $0.00135 of $0.0010 (marker) in 3 calls; "
         "1 further call rejected before sending"]
    )
    entry = test_entry(llm_pytester, "test_runaway")
    assert entry["calls"] == 3
    assert entry["failed_calls"] == 0
    assert entry["refused_calls"] == 1
    assert entry["cost_usd"] == 0.00135


def test_caught_refusal_still_fails(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0.0009)
def test_swallows_errors(provider):
    for _ in range(5):
        try:
            ask()
        except litellm.BudgetExceededError:
            pass
    print("requests sent:", len(provider.requests))
"""
    )
    result = run(llm_pytester, "-s")
    result.assert_outcomes(failed=1)
    # Two calls spend exactly $0.0009: the budget is used up, not exceeded.
    result.stdout.fnmatch_lines(
        [
            "*requests sent: 2",
            "LLM budget used up: spent $0.0009 of $0.0009 (marker); "
            "3 calls rejected before sending",
        ]
    )
    entry = test_entry(llm_pytester, "test_swallows_errors")
    assert entry["refused_calls"] == 3
    assert entry["over_budget"] is False


def test_async_runaway_stops(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0.001)
@pytest.mark.asyncio
async def test_async_runaway(provider):
    try:
        for _ in range(10):
            await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        print("requests sent:", len(provider.requests))
"""
    )
    result = run(llm_pytester, "-s")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*requests sent: 3",
            "E * litellm.exceptions.BudgetExceededError: LLM budget exceeded: "
            "test_suite.py::test_async_runaway spent $0.00135 of $0.0010 (marker); "
            "pytest-llmcost rejected the call before it was sent",
        ]
    )
    assert test_entry(llm_pytester, "test_async_runaway")["calls"] == 3


def test_zero_budget_sends_nothing(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0)
def test_no_spending(provider):
    with pytest.raises(litellm.BudgetExceededError):
        ask()
    with pytest.raises(litellm.BudgetExceededError):
        litellm.embedding(model="text-embedding-3-small", input=["a"])
    assert provider.requests == []
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["LLM budget used up: spent $0.0000 of $0.0000 (marker); 2 calls rejected before sending"]
    )


def test_router_calls_rejected(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0.0004)
@pytest.mark.asyncio
async def test_router(provider):
    router = litellm.Router(
        model_list=[{"model_name": "chat", "litellm_params": {"model": "gpt-4o-mini"}}]
    )
    router.completion(model="chat", messages=MESSAGES)
    with pytest.raises(litellm.BudgetExceededError):
        router.completion(model="chat", messages=MESSAGES)
    with pytest.raises(litellm.BudgetExceededError):
        await router.acompletion(model="chat", messages=MESSAGES)
    assert len(provider.requests) == 1
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(failed=1)
    entry = test_entry(llm_pytester, "test_router")
    assert entry["calls"] == 1
    assert entry["refused_calls"] == 2
    assert entry["over_budget"] is True


def test_run_budget_rejects_calls(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_first(provider):
    ask()
    ask()

def test_second(provider):
    try:
        ask()
    finally:
        print("requests in second test:", len(provider.requests))
"""
    )
    result = run(llm_pytester, "-s", "--llm-budget=0.0009")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*requests in second test: 0",
            "*BudgetExceededError: Budget has been exceeded! Current cost: $0.0009 spent by the "
            "test run, Max budget: $0.0009 (cli run budget)*",
        ]
    )
    document = report(llm_pytester)
    assert document["totals"]["cost_usd"] == 0.0009
    assert document["totals"]["refused_calls"] == 1
    assert document["run_over_budget"] is False


def test_report_mode_sends_everything(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0.001)
def test_runaway(provider):
    for _ in range(4):
        ask()
    assert len(provider.requests) == 4
"""
    )
    llm_pytester.makeini("[pytest]\nllm_budget_mode = report\n")
    result = run(llm_pytester)
    result.assert_outcomes(failed=1)
    # 4 * 0.00045
    result.stdout.fnmatch_lines(
        ["LLM budget exceeded: spent $0.0018 of $0.0010 (marker) in 4 calls"]
    )
    assert test_entry(llm_pytester, "test_runaway")["refused_calls"] == 0

    from_cli = run(llm_pytester, "--llm-budget-mode=stop")
    from_cli.assert_outcomes(failed=1)
    assert test_entry(llm_pytester, "test_runaway")["refused_calls"] == 1


def test_litellm_budget_globals_restored(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0.01)
def test_one(provider):
    ask()
"""
    )
    saved = (litellm.max_budget, litellm._current_cost)
    litellm.max_budget = 123.0
    litellm._current_cost = 4.5
    try:
        result = run(llm_pytester)
        result.assert_outcomes(passed=1)
        assert litellm.max_budget == 123.0
        assert type(litellm.max_budget) is float
        assert litellm._current_cost == 4.5
        assert type(litellm._current_cost) is float
    finally:
        litellm.max_budget, litellm._current_cost = saved


def test_user_max_budget_still_applies(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_user_limit(provider):
    with pytest.raises(litellm.BudgetExceededError):
        ask()
    assert provider.requests == []
"""
    )
    saved = (litellm.max_budget, litellm._current_cost)
    # The user's own limit, already exceeded before the run starts.
    litellm.max_budget = 1.0
    litellm._current_cost = 2.0
    try:
        result = run(llm_pytester)
        result.assert_outcomes(passed=1)
    finally:
        litellm.max_budget, litellm._current_cost = saved
