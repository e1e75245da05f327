"""Each entry point's cost, tokens and model, checked against hand-computed prices.

Prices from LiteLLM's bundled price map, per token:
  openai/gpt-4o-mini            input 1.5e-07   output 6e-07
  anthropic/claude-haiku-4-5    input 1e-06     output 5e-06
  openai/text-embedding-3-small input 2e-08
The mock provider answers with 1000 prompt and 500 completion tokens unless a
test sets other counts.
"""

from __future__ import annotations

import pytest

from llmcost_testing import report, run, test_entry

# 1000 * 1.5e-07 + 500 * 6e-07
GPT_4O_MINI_CALL = 0.00045
# 1000 * 1e-06 + 500 * 5e-06
CLAUDE_HAIKU_CALL = 0.0035
# 1000 * 2e-08
EMBEDDING_CALL = 0.00002


def test_sync_completion_cost(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm

        def test_chat(provider):
            litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_chat")
    assert entry["cost_usd"] == GPT_4O_MINI_CALL
    assert entry["calls"] == 1
    assert entry["prompt_tokens"] == 1000
    assert entry["completion_tokens"] == 500
    assert entry["models"] == {
        "openai/gpt-4o-mini": {
            "calls": 1, "cost_usd": GPT_4O_MINI_CALL,
            "prompt_tokens": 1000, "completion_tokens": 500,
        }
    }


def test_streamed_completion_cost(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm

        def test_stream(provider):
            provider.usage(2000, 1000)
            chunks = litellm.completion(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            assert "".join(c.choices[0].delta.content or "" for c in chunks) == "mock answer"
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_stream")
    # 2000 * 1.5e-07 + 1000 * 6e-07
    assert entry["cost_usd"] == 0.0009
    assert entry["calls"] == 1
    assert entry["prompt_tokens"] == 2000
    assert entry["completion_tokens"] == 1000


def test_async_completions_cost(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        MESSAGES = [{"role": "user", "content": "hi"}]

        @pytest.mark.asyncio
        async def test_async_chat(provider):
            await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES)

        @pytest.mark.asyncio
        async def test_async_stream(provider):
            stream = await litellm.acompletion(
                model="anthropic/claude-haiku-4-5", messages=MESSAGES, stream=True
            )
            async for _ in stream:
                pass
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=2)
    assert test_entry(llm_pytester, "test_async_chat")["cost_usd"] == GPT_4O_MINI_CALL
    stream_entry = test_entry(llm_pytester, "test_async_stream")
    assert stream_entry["cost_usd"] == CLAUDE_HAIKU_CALL
    assert stream_entry["prompt_tokens"] == 1000
    assert stream_entry["completion_tokens"] == 500


def test_anthropic_sync_and_stream_cost(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm

        MESSAGES = [{"role": "user", "content": "hi"}]

        def test_both(provider):
            litellm.completion(model="anthropic/claude-haiku-4-5", messages=MESSAGES)
            for _ in litellm.completion(
                model="anthropic/claude-haiku-4-5", messages=MESSAGES, stream=True
            ):
                pass
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_both")
    assert entry["calls"] == 2
    # 2 * (1000 * 1e-06 + 500 * 5e-06)
    assert entry["cost_usd"] == 0.007
    assert list(entry["models"]) == ["anthropic/claude-haiku-4-5"]


def test_embeddings_cost(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        def test_embed(provider):
            litellm.embedding(model="text-embedding-3-small", input=["a", "b"])

        @pytest.mark.asyncio
        async def test_async_embed(provider):
            provider.usage(5000)
            await litellm.aembedding(model="text-embedding-3-small", input=["a"])
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=2)
    assert test_entry(llm_pytester, "test_embed")["cost_usd"] == EMBEDDING_CALL
    # 5000 * 2e-08
    assert test_entry(llm_pytester, "test_async_embed")["cost_usd"] == 0.0001
    assert report(llm_pytester)["models"]["openai/text-embedding-3-small"]["calls"] == 2


def test_run_totals_sum_tests(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        MESSAGES = [{"role": "user", "content": "hi"}]

        @pytest.mark.parametrize("index", range(7))
        def test_chat(provider, index):
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)

        def test_claude(provider):
            litellm.completion(model="anthropic/claude-haiku-4-5", messages=MESSAGES)

        def test_no_call():
            pass
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=9)
    document = report(llm_pytester)
    totals = document["totals"]
    # 7 * 0.00045 + 0.0035, exact: 0.00315 + 0.0035
    assert totals["cost_usd"] == 0.00665
    assert totals["calls"] == 8
    assert totals["prompt_tokens"] == 8000
    assert totals["completion_tokens"] == 4000
    assert totals["failed_calls"] == 0
    assert "test_suite.py::test_no_call" not in document["tests"]
    assert document["outside_tests"] == {
        "cost_usd": 0.0, "calls": 0, "failed_calls": 0, "unpriced_calls": 0,
        "unaccounted_calls": 0, "refused_calls": 0, "proxy_calls": 0, "prompt_tokens": 0, "completion_tokens": 0,
            "models": {},
    }


def test_float_noise_removed(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm

        def test_chat(provider):
            provider.usage(30000, 15000)
            response = litellm.completion(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    # LiteLLM computes 30000 * 1.5e-07 + 15000 * 6e-07 as 0.013499999999999998.
    assert test_entry(llm_pytester, "test_chat")["cost_usd"] == 0.0135


def test_failed_call_counted(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import httpx
        import litellm
        import pytest
        import respx

        def test_rejected(monkeypatch):
            monkeypatch.setenv("OPENAI_API_KEY", "sk-mock")
            with respx.mock(using="httpx") as router:
                router.post("https://api.openai.com/v1/chat/completions").mock(
                    return_value=httpx.Response(400, json={"error": {"message": "bad request"}})
                )
                with pytest.raises(litellm.BadRequestError):
                    litellm.completion(
                        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                    )
        """
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_rejected")
    assert entry["calls"] == 1
    assert entry["failed_calls"] == 1
    assert entry["cost_usd"] == 0.0
    assert report(llm_pytester)["totals"]["failed_calls"] == 1
