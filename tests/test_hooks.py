"""The plugin's hooks, implemented in a conftest.py as users do, serially and under xdist."""

from __future__ import annotations

import pytest

from llmcost_testing import MOCK_CONFTEST, report, run, test_entry

HOOKS = '''
import json
from decimal import Decimal

import pytest


def pytest_llmcost_price_call(call):
    # In-house model: $1 per million prompt tokens, $2 per million completion tokens.
    if call.model == "openai/inhouse-model":
        return Decimal(call.prompt_tokens) / 10**6 + Decimal(call.completion_tokens) * 2 / 10**6
    return None


def pytest_llmcost_call_settled(call):
    with open("settled.jsonl", "a") as log:
        cost = None if call.cost_usd is None else str(call.cost_usd)
        log.write(json.dumps([call.nodeid, call.phase, call.model, call.status, cost]) + "\\n")


def pytest_llmcost_test_budget(item):
    if "expensive" in item.name:
        return 0.0001
    return None


def pytest_llmcost_modify_report(report):
    report["team"] = "search"
'''

SUITE = """
import litellm
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]

def test_inhouse(provider):
    litellm.completion(model="openai/inhouse-model", messages=MESSAGES)

def test_expensive_call(provider):
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES)

@pytest.mark.llm_budget(0.01)
def test_expensive_but_marked(provider):
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES)

def test_unknown(provider):
    litellm.completion(model="openai/unknown-model", messages=MESSAGES)
"""


@pytest.mark.parametrize("workers", [None, "2"])
def test_hooks_shape_verdicts_and_reports(pytester: pytest.Pytester, workers: str | None) -> None:
    pytester.makeconftest(MOCK_CONFTEST + HOOKS)
    pytester.makeini("[pytest]\nasyncio_mode = strict\n")
    pytester.makepyfile(test_suite=SUITE)
    args = ["-n", workers] if workers else []
    result = run(pytester, *args, "--llm-test-budget=0.5")
    result.assert_outcomes(passed=3, failed=1)

    inhouse = test_entry(pytester, "test_inhouse")
    # 1000 / 10**6 * $1 + 500 / 10**6 * $2
    assert inhouse["cost_usd"] == 0.002
    assert inhouse["unpriced_calls"] == 0
    assert inhouse["hook_priced_calls"] == 1

    expensive = test_entry(pytester, "test_expensive_call")
    assert (expensive["budget_usd"], expensive["budget_source"]) == (0.0001, "hook")
    assert expensive["over_budget"] is True
    marked = test_entry(pytester, "test_expensive_but_marked")
    assert (marked["budget_usd"], marked["budget_source"]) == (0.01, "marker")
    unknown = test_entry(pytester, "test_unknown")
    assert (unknown["budget_usd"], unknown["budget_source"]) == (0.5, "cli")
    assert unknown["unpriced_calls"] == 1

    document = report(pytester)
    assert document["team"] == "search"
    assert document["totals"]["unpriced_calls"] == 1
    # 0.002 + 2 * 0.00045
    assert document["totals"]["cost_usd"] == 0.0029

    lines = (pytester.path / "settled.jsonl").read_text().splitlines()
    settled = sorted(tuple(__import__("json").loads(line)) for line in lines)
    assert settled == [
        ("test_suite.py::test_expensive_but_marked", "call", "openai/gpt-4o-mini", "success",
         "0.00045"),
        ("test_suite.py::test_expensive_call", "call", "openai/gpt-4o-mini", "success",
         "0.00045"),
        ("test_suite.py::test_inhouse", "call", "openai/inhouse-model", "success", "0.002"),
        ("test_suite.py::test_unknown", "call", "openai/unknown-model", "success", None),
    ]


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ("def pytest_llmcost_price_call(call):\n    return 'cheap'",
         "pytest_llmcost_price_call returned 'cheap' for model 'openai/inhouse-model': expected "
         "a finite, non-negative number of US dollars, or None"),
        ("def pytest_llmcost_price_call(call):\n    return -1.0",
         "pytest_llmcost_price_call returned -1.0 for model*"),
        ("def pytest_llmcost_price_call(call):\n    return float('inf')",
         "pytest_llmcost_price_call returned inf for model*"),
        ("def pytest_llmcost_price_call(call):\n    raise RuntimeError('price table offline')",
         "pytest_llmcost_price_call raised RuntimeError: price table offline"),
        ("def pytest_llmcost_call_settled(call):\n    raise KeyError('telemetry')",
         "pytest_llmcost_call_settled raised KeyError: 'telemetry'"),
    ],
)
def test_broken_call_hooks_fail_the_test(
    pytester: pytest.Pytester, hook: str, message: str
) -> None:
    pytester.makeconftest(MOCK_CONFTEST + "\n\n" + hook + "\n")
    pytester.makepyfile(
        test_suite="""
        import litellm

        def test_inhouse(provider):
            litellm.completion(
                model="openai/inhouse-model", messages=[{"role": "user", "content": "hi"}]
            )
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stdout.str()
    assert test_entry(pytester, "test_inhouse")["calls"] == 1


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ("def pytest_llmcost_test_budget(item):\n    return -1",
         "pytest_llmcost_test_budget returned -1 for test_suite.py::test_one: expected a finite, "
         "non-negative number of US dollars, or None"),
        ("def pytest_llmcost_test_budget(item):\n    return '0.05'",
         "pytest_llmcost_test_budget returned '0.05' for test_suite.py::test_one*"),
        ("def pytest_llmcost_test_budget(item):\n    raise ValueError('no budget file')",
         "pytest_llmcost_test_budget raised ValueError for test_suite.py::test_one: "
         "no budget file"),
    ],
)
def test_broken_budget_hook_is_collection_error(
    pytester: pytest.Pytester, hook: str, message: str
) -> None:
    pytester.makeconftest(hook + "\n")
    pytester.makepyfile(test_suite="def test_one():\n    pass\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stdout.str()


def test_broken_report_hook(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "def pytest_llmcost_modify_report(report):\n    raise RuntimeError('no disk')\n"
    )
    pytester.makepyfile(test_suite="def test_one():\n    pass\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["ERROR pytest_llmcost_modify_report raised RuntimeError: no disk; the JSON report was "
         "written without its changes"]
    )
    assert report(pytester)["schema_version"] == 1
