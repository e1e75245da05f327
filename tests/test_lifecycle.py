"""Registration and removal of the callback, disabling the plugin, and lazy LiteLLM import."""

from __future__ import annotations

import litellm
import pytest

from llmcost_testing import BASE_ARGS, report, run, run_subprocess, test_entry

SUITE = """
import litellm

def test_chat(provider):
    litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
"""


def _our_callbacks() -> list[object]:
    lists = (
        litellm.callbacks,
        litellm.input_callback,
        litellm.success_callback,
        litellm.failure_callback,
        litellm._async_success_callback,
        litellm._async_failure_callback,
    )
    return [
        callback
        for callbacks in lists
        for callback in callbacks
        if type(callback).__module__ == "pytest_llmcost.litellm_bridge"
    ]


def test_two_runs_in_one_process(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_suite=SUITE)
    before = _our_callbacks()

    first = run(llm_pytester)
    first.assert_outcomes(passed=1)
    first_report = report(llm_pytester)
    second = run(llm_pytester)
    second.assert_outcomes(passed=1)
    second_report = report(llm_pytester)

    assert first_report["totals"] == second_report["totals"]
    assert second_report["totals"]["calls"] == 1
    assert test_entry(llm_pytester, "test_chat")["cost_usd"] == 0.00045
    # The inner runs removed their callbacks from every LiteLLM list; only the
    # callback of the pytest run that runs this test may remain.
    assert {id(callback) for callback in _our_callbacks()} <= {id(callback) for callback in before}


def test_disabled_plugin(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_suite=SUITE)
    result = llm_pytester.runpytest(*BASE_ARGS, "-p", "no:llmcost")
    result.assert_outcomes(passed=1)
    assert "LLM cost" not in result.stdout.str()
    assert "llmcost" not in result.stdout.str()

    rejected = llm_pytester.runpytest(*BASE_ARGS, "-p", "no:llmcost", "--llm-budget=1")
    assert rejected.ret == pytest.ExitCode.USAGE_ERROR


def test_no_litellm_import_without_use(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys

        def pytest_sessionfinish(session):
            print("litellm imported:", "litellm" in sys.modules)
        """
    )
    pytester.makepyfile(
        """
        def test_plain():
            assert 1 + 1 == 2
        """
    )
    result = pytester.runpytest_subprocess(*BASE_ARGS, "-s", "--llm-budget=0.01")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*litellm imported: False*"])


@pytest.mark.parametrize("moment", ["collection", "fixture", "test body"])
def test_late_import_is_counted(llm_pytester: pytest.Pytester, moment: str) -> None:
    imports = {
        "collection": ("import litellm", "", ""),
        "fixture": ("", "    import litellm", ""),
        "test body": ("", "", "    import litellm"),
    }[moment]
    llm_pytester.makepyfile(
        test_suite=f"""
import pytest
{imports[0]}

@pytest.fixture
def client(provider):
{imports[1] or "    pass"}
    yield provider

def test_chat(client):
{imports[2]}
    import litellm as module
    module.completion(model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])
"""
    )
    # The provider mock imports httpx and respx, not LiteLLM.
    result = run_subprocess(llm_pytester)
    result.assert_outcomes(passed=1)
    assert test_entry(llm_pytester, "test_chat")["cost_usd"] == 0.00045
    assert report(llm_pytester)["totals"]["calls"] == 1
