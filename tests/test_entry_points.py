"""Every LiteLLM entry point is counted once, with the cost LiteLLM computed.

Bundled prices per token: gpt-4o-mini 1.5e-07 in, 6e-07 out;
gpt-3.5-turbo-instruct 1.5e-06 in, 2e-06 out; gpt-image-1 5e-06 per text input
token, 4e-05 per image output token. The mock answers 1000 prompt and 500
completion tokens unless a test sets other counts.
"""

from __future__ import annotations

import pytest

from llmcost_testing import report, run, test_entry

# 1000 * 1.5e-07 + 500 * 6e-07
GPT_4O_MINI_CALL = 0.00045


def test_text_completion(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm

        def test_text(provider):
            litellm.text_completion(model="gpt-3.5-turbo-instruct", prompt="hi")
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_text")
    # LiteLLM fires two success events for one text_completion: one call.
    assert entry["calls"] == 1
    # 1000 * 1.5e-06 + 500 * 2e-06
    assert entry["cost_usd"] == 0.0025


def test_responses_api(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        def test_plain(provider):
            litellm.responses(model="gpt-4o-mini", input="hi")

        def test_stream(provider):
            for _ in litellm.responses(model="gpt-4o-mini", input="hi", stream=True):
                pass

        @pytest.mark.asyncio
        async def test_async(provider):
            await litellm.aresponses(model="gpt-4o-mini", input="hi")

        @pytest.mark.asyncio
        async def test_async_stream(provider):
            stream = await litellm.aresponses(model="gpt-4o-mini", input="hi", stream=True)
            async for _ in stream:
                pass
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=4)
    for name in ("test_plain", "test_stream", "test_async", "test_async_stream"):
        entry = test_entry(llm_pytester, name)
        assert (name, entry["calls"]) == (name, 1)
        assert (name, entry["cost_usd"]) == (name, GPT_4O_MINI_CALL)
        assert (name, entry["prompt_tokens"]) == (name, 1000)
    assert report(llm_pytester)["totals"]["calls"] == 4


def test_image_generation(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm

        def test_image(provider):
            provider.usage(50, 1000)
            litellm.image_generation(model="gpt-image-1", prompt="a cat", size="1024x1024")
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_image")
    assert entry["calls"] == 1
    # 50 * 5e-06 + 1000 * 4e-05
    assert entry["cost_usd"] == 0.04025


def test_router_calls(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        MESSAGES = [{"role": "user", "content": "hi"}]
        MODELS = [{"model_name": "chat", "litellm_params": {"model": "gpt-4o-mini"}}]

        def test_sync_router(provider):
            litellm.Router(model_list=MODELS).completion(model="chat", messages=MESSAGES)

        @pytest.mark.asyncio
        async def test_async_router(provider):
            router = litellm.Router(model_list=MODELS)
            await router.acompletion(model="chat", messages=MESSAGES)
            stream = await router.acompletion(model="chat", messages=MESSAGES, stream=True)
            async for _ in stream:
                pass
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=2)
    assert test_entry(llm_pytester, "test_sync_router")["cost_usd"] == GPT_4O_MINI_CALL
    async_entry = test_entry(llm_pytester, "test_async_router")
    assert async_entry["calls"] == 2
    # 2 * 0.00045
    assert async_entry["cost_usd"] == 0.0009


def test_concurrent_calls_counted_once(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        import litellm
        import pytest

        MESSAGES = [{"role": "user", "content": "hi"}]

        async def ask(index):
            if index % 2:
                stream = await litellm.acompletion(
                    model="gpt-4o-mini", messages=MESSAGES, stream=True
                )
                async for _ in stream:
                    pass
            else:
                await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES)

        def ask_sync(index):
            if index % 2:
                for _ in litellm.completion(model="gpt-4o-mini", messages=MESSAGES, stream=True):
                    pass
            else:
                litellm.completion(model="gpt-4o-mini", messages=MESSAGES)

        @pytest.mark.asyncio
        async def test_concurrent(provider):
            await asyncio.gather(*(ask(index) for index in range(50)))
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(ask_sync, range(20)))
            assert len(provider.requests) == 70

        def test_after():
            pass
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=2)
    entry = test_entry(llm_pytester, "test_concurrent")
    assert entry["calls"] == 70
    assert entry["unaccounted_calls"] == 0
    # 70 * 0.00045
    assert entry["cost_usd"] == 0.0315
    assert entry["prompt_tokens"] == 70000
    document = report(llm_pytester)
    assert document["totals"]["cost_usd"] == 0.0315
    assert set(document["tests"]) == {"test_suite.py::test_concurrent"}
