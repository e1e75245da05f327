"""Each call is charged to the test and phase that made it, even when LiteLLM reports it late."""

from __future__ import annotations

import pytest

from llmcost_testing import report, run, test_entry

# 1000 * 1.5e-07 + 500 * 6e-07 for gpt-4o-mini
CHAT_CALL = 0.00045


def test_late_sync_event_stays_in_its_test(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        @pytest.mark.parametrize("index", range(5))
        def test_calls_last(provider, index):
            litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

        @pytest.mark.parametrize("index", range(5))
        def test_makes_no_call(index):
            pass
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=10)
    tests = report(llm_pytester)["tests"]
    for index in range(5):
        assert tests[f"test_suite.py::test_calls_last[{index}]"]["cost_usd"] == CHAT_CALL
        assert f"test_suite.py::test_makes_no_call[{index}]" not in tests


def test_async_test_returning_after_call(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        MESSAGES = [{"role": "user", "content": "hi"}]

        @pytest.mark.asyncio
        async def test_returns_at_once(provider):
            await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES)

        @pytest.mark.asyncio
        async def test_stream_returns_at_once(provider):
            stream = await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, stream=True)
            async for _ in stream:
                pass

        def test_after():
            pass

        @pytest.mark.asyncio
        async def test_async_after():
            pass
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=4)
    document = report(llm_pytester)
    assert set(document["tests"]) == {
        "test_suite.py::test_returns_at_once",
        "test_suite.py::test_stream_returns_at_once",
    }
    assert test_entry(llm_pytester, "test_returns_at_once")["cost_usd"] == CHAT_CALL
    assert test_entry(llm_pytester, "test_stream_returns_at_once")["cost_usd"] == CHAT_CALL
    assert document["totals"]["calls"] == 2
    assert document["totals"]["unaccounted_calls"] == 0


def test_fixture_calls_charged_by_phase(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        MESSAGES = [{"role": "user", "content": "hi"}]

        @pytest.fixture
        def warmed_up(provider):
            provider.usage(2000, 0)
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
            provider.usage(1000, 500)
            yield
            provider.usage(0, 1000)
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)

        def test_phases(warmed_up):
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_phases")
    assert entry["calls"] == 3
    # setup: 2000 * 1.5e-07; call: 1000 * 1.5e-07 + 500 * 6e-07; teardown: 1000 * 6e-07
    assert entry["phases"] == {"setup": 0.0003, "call": 0.00045, "teardown": 0.0006}
    assert entry["cost_usd"] == 0.00135


def test_calls_from_threads_charged_to_test(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        from concurrent.futures import ThreadPoolExecutor

        import litellm

        def ask(index):
            return litellm.completion(
                model="gpt-4o-mini", messages=[{"role": "user", "content": str(index)}]
            )

        def test_threads(provider):
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(ask, range(8)))

        def test_after():
            pass
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=2)
    entry = test_entry(llm_pytester, "test_threads")
    assert entry["calls"] == 8
    # 8 * 0.00045
    assert entry["cost_usd"] == 0.0036
    assert "test_suite.py::test_after" not in report(llm_pytester)["tests"]


def test_collection_time_calls_outside_tests(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import os

        import litellm
        import respx

        from conftest import mock_openai_chat

        os.environ.setdefault("OPENAI_API_KEY", "sk-mock")
        with respx.mock(using="httpx") as router:
            mock_openai_chat(router, 10000, 0)
            litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

        def test_nothing():
            pass
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    document = report(llm_pytester)
    # 10000 * 1.5e-07
    assert document["outside_tests"]["cost_usd"] == 0.0015
    assert document["outside_tests"]["calls"] == 1
    assert document["totals"]["cost_usd"] == 0.0015
    assert document["tests"] == {}
    result.stdout.fnmatch_lines(["outside tests: $0.0015 in 1 call, 10,000 prompt + 0 completion tokens"])


def test_collection_spend_counts_toward_run_budget(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import os

        import litellm
        import respx

        from conftest import mock_openai_chat

        os.environ.setdefault("OPENAI_API_KEY", "sk-mock")
        with respx.mock(using="httpx") as router:
            mock_openai_chat(router, 10000, 0)
            litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

        def test_never_runs():
            pass
        """
    )
    result = run(llm_pytester, "--llm-budget=0.001")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes()
    result.stdout.fnmatch_lines(
        ["FAIL LLM run budget exceeded: spent $0.0015 of $0.0010 (cli) in 1 call"]
    )
