"""pytest-xdist: per-test costs and totals equal the serial run, and one run budget holds.

Real pytest-xdist workers, each with its own respx-mocked provider. Costs:
gpt-4o-mini 1000 * 1.5e-07 + 500 * 6e-07 = $0.00045 a call; claude-haiku-4-5
with 5000 prompt and 1000 completion tokens 5000 * 1e-06 + 1000 * 5e-06 = $0.01.
"""

from __future__ import annotations

from typing import Any

import pytest

from llmcost_testing import report, run

SUITE = {
    "test_alpha": """
import litellm
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]

@pytest.mark.parametrize("calls", range(1, 6))
def test_chat(provider, calls):
    for _ in range(calls):
        litellm.completion(model="gpt-4o-mini", messages=MESSAGES)

@pytest.mark.llm_budget(0.001)
def test_over_budget(provider):
    provider.usage(3000, 1000)
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
""",
    "test_beta": """
import litellm
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]

class TestClaude:
    @pytest.mark.parametrize("prompt_tokens", [100, 2000, 7000])
    def test_claude(self, provider, prompt_tokens):
        provider.usage(prompt_tokens, 300)
        litellm.completion(model="anthropic/claude-haiku-4-5", messages=MESSAGES)

@pytest.mark.asyncio
async def test_async_embedding(provider):
    provider.usage(12345)
    await litellm.aembedding(model="text-embedding-3-small", input=["a"])

def test_free():
    pass
""",
}


def _per_test(document: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        nodeid: (entry["cost_usd"], entry["calls"], entry["prompt_tokens"],
                 entry["completion_tokens"], entry["outcome"], entry["over_budget"])
        for nodeid, entry in document["tests"].items()
    }


def test_parallel_matches_serial(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(**SUITE)
    serial = run(llm_pytester, "-p", "no:xdist")
    serial.assert_outcomes(passed=10, failed=1)
    expected = report(llm_pytester)
    # 15 gpt-4o-mini calls (1 + 2 + ... + 5) at 0.00045 = 0.00675
    # + over budget: 3000 * 1.5e-07 + 1000 * 6e-07 = 0.00105
    # + claude: (100 + 2000 + 7000) * 1e-06 + 3 * 300 * 5e-06 = 0.0091 + 0.0045 = 0.0136
    # + embedding: 12345 * 2e-08 = 0.0002469
    assert expected["totals"]["cost_usd"] == 0.0216469
    assert expected["totals"]["calls"] == 20
    assert len(expected["tests"]) == 10

    for mode in ("load", "loadscope", "loadfile", "worksteal"):
        parallel = run(llm_pytester, "-n", "2", "--dist", mode)
        parallel.assert_outcomes(passed=10, failed=1)
        document = report(llm_pytester)
        assert (mode, _per_test(document)) == (mode, _per_test(expected))
        assert (mode, document["totals"]) == (mode, expected["totals"])
        assert (mode, document["models"]) == (mode, expected["models"])
        parallel.stdout.fnmatch_lines(["total: $0.0216469 in 20 calls*"])
        assert parallel.stdout.str().count("= LLM cost =") == 1


def test_run_budget_across_workers(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_budget="""
        import litellm
        import pytest

        @pytest.mark.parametrize("index", range(40))
        def test_spend(provider, index):
            provider.usage(5000, 1000)
            try:
                litellm.completion(
                    model="anthropic/claude-haiku-4-5",
                    messages=[{"role": "user", "content": "hi"}],
                )
            finally:
                with open("requests.log", "a") as log:
                    log.write(f"{len(provider.requests)}\\n")
        """
    )
    result = run(llm_pytester, "-n", "4", "--llm-budget=0.10")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    requests = sum(int(line) for line in (llm_pytester.path / "requests.log").read_text().split())
    # Ten calls use up the budget; calls already in flight on the other workers may finish.
    assert 10 <= requests <= 10 + 4
    document = report(llm_pytester)
    assert document["totals"]["calls"] == requests
    assert document["totals"]["cost_usd"] == pytest.approx(requests * 0.01, abs=1e-12)
    passed = sum(1 for entry in document["tests"].values() if entry["outcome"] == "passed")
    assert passed == requests
    result.stdout.fnmatch_lines(["FAIL LLM run budget*"])


def test_crashed_worker_keeps_spend(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_crash="""
        import os
        import time

        import litellm

        MESSAGES = [{"role": "user", "content": "hi"}]

        def test_crashes(provider):
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
            # Give LiteLLM's logging threads time to report both calls, then die.
            time.sleep(1)
            os._exit(1)

        def test_survivor(provider):
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
        """
    )
    result = run(llm_pytester, "-n", "2", "--max-worker-restart=1")
    result.assert_outcomes(passed=1, failed=1)
    document = report(llm_pytester)
    crashed = document["tests"]["test_crash.py::test_crashes"]
    # 2 * 0.00045, booked by the worker before it died
    assert crashed["cost_usd"] == 0.0009
    assert crashed["calls"] == 2
    assert crashed["outcome"] == "failed"
    # 3 * 0.00045
    assert document["totals"]["cost_usd"] == 0.00135


def test_warnings_once_from_controller(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_unpriced="""
        import litellm
        import pytest

        @pytest.mark.parametrize("index", range(4))
        def test_inhouse(provider, index):
            litellm.completion(
                model="openai/inhouse-model", messages=[{"role": "user", "content": "hi"}]
            )
        """
    )
    result = run(llm_pytester, "-n", "2")
    result.assert_outcomes(passed=4, warnings=1)
    assert result.stdout.str().count("UnpricedModelWarning: LiteLLM has no price") == 1
    assert report(llm_pytester)["totals"]["unpriced_calls"] == 4


def test_works_without_xdist(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(**SUITE)
    result = run(llm_pytester, "-p", "no:xdist", "--llm-budget=1")
    result.assert_outcomes(passed=10, failed=1)
    assert report(llm_pytester)["totals"]["cost_usd"] == 0.0216469
    assert "INTERNALERROR" not in result.stdout.str()
