"""Cost where people look: -v status words, JUnit XML properties and the llm_cost fixture."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from llmcost_testing import run, test_entry

SUITE = """
import litellm
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]

def ask():
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES)

def test_spends(provider):
    ask()

@pytest.mark.llm_budget(0.0001)
def test_over_budget(provider):
    ask()

def test_own_failure(provider):
    ask()
    assert False

def test_free():
    pass
"""


def test_verbose_status_words(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_suite=SUITE)
    result = run(llm_pytester, "-v", "-rA")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "test_suite.py::test_spends PASSED ?$0.00045? *",
            "test_suite.py::test_over_budget OVER BUDGET *",
            "test_suite.py::test_own_failure FAILED ?$0.00045? *",
            "test_suite.py::test_free PASSED *",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*short test summary info*",
            "OVER BUDGET test_suite.py::test_over_budget - LLM budget exceeded*",
        ]
    )
    quiet = run(llm_pytester)
    quiet.stdout.fnmatch_lines(["test_suite.py .BF. *"])


@pytest.mark.parametrize("workers", [None, "2"])
def test_junit_properties(llm_pytester: pytest.Pytester, workers: str | None) -> None:
    llm_pytester.makepyfile(test_suite=SUITE)
    args = ["-n", workers] if workers else []
    run(llm_pytester, *args, "--junitxml=junit.xml").assert_outcomes(passed=2, failed=2)
    root = ElementTree.parse(llm_pytester.path / "junit.xml").getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    properties = {
        prop.get("name"): prop.get("value")
        for prop in cases["test_spends"].iter("property")
    }
    assert properties == {
        "llm_cost_usd": "0.00045",
        "llm_calls": "1",
        "llm_prompt_tokens": "1000",
        "llm_completion_tokens": "500",
    }
    assert list(cases["test_free"].iter("property")) == []
    over = {prop.get("name"): prop.get("value") for prop in cases["test_over_budget"].iter("property")}
    assert over["llm_cost_usd"] == "0.00045"
    suite = root.find("testsuite")
    assert suite is not None
    suite_properties = {
        prop.get("name"): prop.get("value")
        for prop in suite.findall("properties/property")
    }
    # 3 * 0.00045
    assert suite_properties == {"llm_cost_usd": "0.00135", "llm_calls": "3"}


def test_junit_properties_off(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_suite=SUITE)
    llm_pytester.makeini("[pytest]\nllm_junit = off\n")
    run(llm_pytester, "--junitxml=junit.xml")
    assert "llm_cost_usd" not in (llm_pytester.path / "junit.xml").read_text()
    run(llm_pytester, "--junitxml=junit.xml", "--llm-junit=on")
    assert "llm_cost_usd" in (llm_pytester.path / "junit.xml").read_text()


def test_llm_cost_fixture(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        MESSAGES = [{"role": "user", "content": "hi"}]

        def test_reads_spend(provider, llm_cost):
            assert llm_cost.usd == 0
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
            assert llm_cost.usd == 0.00045
            assert llm_cost.calls == 1
            assert llm_cost.prompt_tokens == 1000
            assert llm_cost.completion_tokens == 500
            assert llm_cost.by_model == {
                "openai/gpt-4o-mini": {
                    "calls": 1, "cost_usd": 0.00045,
                    "prompt_tokens": 1000, "completion_tokens": 500,
                }
            }
            assert llm_cost.usd < 0.002

        @pytest.mark.asyncio
        async def test_async_spend(provider, llm_cost):
            await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES)
            with pytest.warns(UserWarning, match="await llm_cost.settled"):
                llm_cost.calls
            await llm_cost.settled()
            assert llm_cost.usd == 0.00045

        def test_block_budget(provider, llm_cost):
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
            with llm_cost.budget(0.0009):
                litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
                litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
                with pytest.raises(litellm.BudgetExceededError):
                    litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
            assert len(provider.requests) == 3

        def test_block_over(provider, llm_cost):
            with llm_cost.budget(0.0005):
                litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
                litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=2, failed=2)
    # The block spent exactly its budget (2 * 0.00045 = 0.0009), then one call was
    # rejected: the test fails although it caught the error, like a test budget.
    assert test_entry(llm_pytester, "test_block_budget")["refused_calls"] == 1
    result.stdout.fnmatch_lines(
        [
            "LLM budget of an llm_cost.budget() block used up: spent $0.0009 of $0.0009; "
            "1 call rejected before sending",
            "LLM budget exceeded in an llm_cost.budget() block: spent $0.0009 of $0.0005",
        ]
    )
