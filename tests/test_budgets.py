"""Test and run budgets: markers, options, precedence, the exact boundary and stopping the run.

Every test here calls openai/gpt-4o-mini through the mock provider, which
answers 1000 prompt and 500 completion tokens unless the test sets others:
1000 * 1.5e-07 + 500 * 6e-07 = $0.00045 a call.
"""

from __future__ import annotations

import pytest

from llmcost_testing import report, run, test_entry

CALL = """
import litellm
import pytest

def ask():
    litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
"""


def test_marker_on_function(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0.0004)
def test_over(provider):
    ask()

@pytest.mark.llm_budget(0.0005)
def test_under(provider):
    ask()
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "LLM budget exceeded: spent $0.00045 of $0.0004 (marker) in 1 call",
            "OVER BUDGET test_suite.py::test_over - LLM budget exceeded*",
        ]
    )
    over = test_entry(llm_pytester, "test_over")
    assert over["over_budget"] is True
    assert over["outcome"] == "failed"
    assert over["budget_usd"] == 0.0004
    assert over["budget_source"] == "marker"
    assert test_entry(llm_pytester, "test_under")["over_budget"] is False


def test_failure_shows_model_breakdown(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0.0001)
def test_over(provider):
    ask()
    litellm.completion(model="anthropic/claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}])
"""
    )
    # In report mode the second call is sent although the first used up the budget.
    result = run(llm_pytester, "--llm-budget-mode=report")
    result.assert_outcomes(failed=1)
    # 0.00045 + (1000 * 1e-06 + 500 * 5e-06) = 0.00395
    result.stdout.fnmatch_lines(
        [
            "*LLM budget exceeded: spent $0.00395 of $0.0001 (marker) in 2 calls",
            "*- LLM cost -*",
            "spent $0.00395 in 2 calls, 2,000 prompt + 1,000 completion tokens",
            "budget $0.0001 (marker)",
            "model*calls*cost*prompt tokens*completion tokens",
            "anthropic/claude-haiku-4-5*1*$0.0035*1,000*500",
            "openai/gpt-4o-mini*1*$0.00045*1,000*500",
        ]
    )


def test_marker_on_class_and_module(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
pytestmark = pytest.mark.llm_budget(0.0001)

def test_module_budget(provider):
    ask()

@pytest.mark.llm_budget(0.001)
class TestClassBudget:
    def test_class_budget(self, provider):
        ask()
        ask()

    @pytest.mark.llm_budget(0.0005)
    def test_function_wins(self, provider):
        ask()
        ask()
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1, failed=2)
    tests = report(llm_pytester)["tests"]
    module = tests["test_suite.py::test_module_budget"]
    assert (module["budget_usd"], module["over_budget"]) == (0.0001, True)
    in_class = tests["test_suite.py::TestClassBudget::test_class_budget"]
    assert (in_class["budget_usd"], in_class["over_budget"]) == (0.001, False)
    nearest = tests["test_suite.py::TestClassBudget::test_function_wins"]
    assert (nearest["budget_usd"], nearest["over_budget"]) == (0.0005, True)


def test_budget_precedence(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makeini(
        """
        [pytest]
        asyncio_mode = strict
        llm_test_budget = 0.0001
        """
    )
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0.01)
def test_marker(provider):
    ask()

def test_default(provider):
    ask()
"""
    )
    from_ini = run(llm_pytester)
    from_ini.assert_outcomes(passed=1, failed=1)
    assert test_entry(llm_pytester, "test_default")["budget_source"] == "ini"
    assert test_entry(llm_pytester, "test_marker")["budget_source"] == "marker"

    from_cli = run(llm_pytester, "--llm-test-budget=0.001")
    from_cli.assert_outcomes(passed=2)
    default = test_entry(llm_pytester, "test_default")
    assert (default["budget_usd"], default["budget_source"]) == (0.001, "cli")
    assert report(llm_pytester)["budgets"]["test_usd"] == 0.001
    assert test_entry(llm_pytester, "test_marker")["budget_usd"] == 0.01


def test_test_budget_option_fails_spenders(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_spends(provider):
    ask()

def test_free():
    pass
"""
    )
    result = run(llm_pytester, "--llm-test-budget=0.000001")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["LLM budget exceeded: spent $0.00045 of $0.000001 (cli) in 1 call"]
    )
    free = test_entry(llm_pytester, "test_free")
    assert free["calls"] == 0
    assert free["budget_usd"] == 0.000001
    assert free["outcome"] == "passed"


@pytest.mark.parametrize(
    ("budget", "outcome"),
    [("0.0135", "passed"), ("0.013500", "passed"), ("0.0134999", "failed")],
)
def test_exact_budget_boundary(llm_pytester: pytest.Pytester, budget: str, outcome: str) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + f"""
@pytest.mark.llm_budget({budget!r})
def test_boundary(provider):
    # LiteLLM prices this as 0.013499999999999998: 30000 * 1.5e-07 + 15000 * 6e-07.
    provider.usage(30000, 15000)
    ask()
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(**{outcome: 1})
    assert test_entry(llm_pytester, "test_boundary")["cost_usd"] == 0.0135


def test_zero_budget_allows_no_spending(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0)
def test_spends(provider):
    ask()

@pytest.mark.llm_budget(0)
def test_free():
    pass
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1, failed=1)


def test_own_failure_kept_with_budget_note(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.llm_budget(0.0001)
def test_broken(provider):
    ask()
    assert 1 == 2, "own failure"
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: own failure*", "*- LLM budget -*"])
    assert test_entry(llm_pytester, "test_broken")["over_budget"] is True


def test_run_budget_stops_run(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.parametrize("index", range(6))
def test_spends(provider, index):
    ask()
"""
    )
    result = run(llm_pytester, "--llm-budget=0.001")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # $0.00045, $0.0009, then $0.00135 is over $0.001: three tests ran.
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "run budget: $0.00135 of $0.0010 (cli), over by $0.00035",
            "*",
            "FAIL LLM run budget exceeded: spent $0.00135 of $0.0010 (cli) in 3 calls",
            "*! LLM run budget exceeded: spent $0.00135 of $0.0010 (cli) in 3 calls !*",
        ]
    )
    document = report(llm_pytester)
    assert document["run_over_budget"] is True
    assert document["totals"]["calls"] == 3
    # 0.00135 - 0.001
    assert document["run_overshoot_usd"] == 0.00035


def test_run_budget_crossed_by_last_test(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_one(provider):
    ask()

def test_two(provider):
    ask()
"""
    )
    result = run(llm_pytester, "--llm-budget=0.0008")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["FAIL LLM run budget exceeded: spent $0.0009 of $0.0008 (cli) in 2 calls"]
    )


def test_run_within_budget_passes(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_one(provider):
    ask()

def test_two(provider):
    ask()
"""
    )
    result = run(llm_pytester, "--llm-budget=0.0009")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["run budget: $0.0009 of $0.0009 (cli), 100%"])
    result.stdout.no_fnmatch_line("FAIL*")
    assert report(llm_pytester)["budgets"]["run_usd"] == 0.0009


def test_run_budget_from_ini(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makeini(
        """
        [pytest]
        llm_budget = 0.0005
        """
    )
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_one(provider):
    ask()

def test_two(provider):
    ask()

def test_three(provider):
    ask()
"""
    )
    result = run(llm_pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["FAIL LLM run budget exceeded: spent $0.0009 of $0.0005 (ini) in 2 calls"]
    )
    assert report(llm_pytester)["budgets"]["run_source"] == "ini"
