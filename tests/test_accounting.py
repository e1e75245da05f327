"""Accounting edge cases: custom prices, zero usage, failed attempts, calls that never report."""

from __future__ import annotations

import json

import pytest

from llmcost_testing import BASE_ARGS, report, run, run_subprocess, test_entry

INHOUSE_PRICES = {
    "openai/inhouse-model": {
        "input_cost_per_token": 1e-06,
        "output_cost_per_token": 2e-06,
        "litellm_provider": "openai",
        "mode": "chat",
    }
}

CALL = """
import litellm
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]

def ask(model="gpt-4o-mini", **options):
    return litellm.completion(model=model, messages=MESSAGES, **options)
"""


@pytest.mark.parametrize("source", ["cli", "ini"])
def test_price_file_prices_model(llm_pytester: pytest.Pytester, source: str) -> None:
    (llm_pytester.path / "prices.json").write_text(json.dumps(INHOUSE_PRICES))
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_inhouse(provider):
    ask("openai/inhouse-model")

def test_other_unknown(provider):
    ask("openai/other-model")
"""
    )
    if source == "ini":
        llm_pytester.makeini("[pytest]\nllm_prices = prices.json\n")
        result = run(llm_pytester)
    else:
        result = run(llm_pytester, "--llm-prices=prices.json")
    result.assert_outcomes(passed=2)
    inhouse = test_entry(llm_pytester, "test_inhouse")
    # 1000 * 1e-06 + 500 * 2e-06
    assert inhouse["cost_usd"] == 0.002
    assert inhouse["unpriced_calls"] == 0
    assert test_entry(llm_pytester, "test_other_unknown")["unpriced_calls"] == 1


def test_price_file_restored_after_run(llm_pytester: pytest.Pytester) -> None:
    import litellm

    (llm_pytester.path / "prices.json").write_text(json.dumps(INHOUSE_PRICES))
    llm_pytester.makepyfile(test_suite=CALL + "\ndef test_one(provider):\n    ask()\n")
    run(llm_pytester, "--llm-prices=prices.json").assert_outcomes(passed=1)
    assert "openai/inhouse-model" not in litellm.model_cost


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "price file 'prices.json' from option --llm-prices not found"),
        ("{not json", "price file 'prices.json' is not valid JSON: * at line 1 column 2"),
        ("[1, 2]", "price file 'prices.json': expected a JSON object that maps model names"),
        ('{"m": 3}', "price file 'prices.json', model 'm': expected an object of prices"),
        ('{"m": {"mode": "chat"}}', "price file 'prices.json', model 'm': no price field*"),
        ('{"m": {"input_cost_per_token": -1}}',
         "price file 'prices.json', model 'm', field 'input_cost_per_token': expected a finite, "
         "non-negative price, got -1"),
        ('{"m": {"output_cost_per_token": "cheap"}}',
         "price file 'prices.json', model 'm', field 'output_cost_per_token': expected a number "
         "of US dollars, got 'cheap'"),
    ],
)
def test_bad_price_file(pytester: pytest.Pytester, content: str | None, message: str) -> None:
    if content is not None:
        (pytester.path / "prices.json").write_text(content)
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*BASE_ARGS, "--llm-prices=prices.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}*"])
    assert "INTERNALERROR" not in result.stderr.str()


def test_per_call_prices_honoured(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_custom(provider):
    ask(input_cost_per_token=1e-06, output_cost_per_token=2e-06)
"""
    )
    # In a subprocess, because LiteLLM 1.108 and 1.109 keep per-call prices as the
    # model's price for the rest of the process, so later runs would be charged them.
    run_subprocess(llm_pytester).assert_outcomes(passed=1)
    # 1000 * 1e-06 + 500 * 2e-06, overriding gpt-4o-mini's own price
    assert test_entry(llm_pytester, "test_custom")["cost_usd"] == 0.002


def test_zero_usage_flagged(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_no_usage(provider):
    provider.usage(0, 0)
    ask()
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*UnpricedModelWarning: LiteLLM reported no tokens and $0 for a call to model "
         "'openai/gpt-4o-mini'*"]
    )
    entry = test_entry(llm_pytester, "test_no_usage")
    assert entry["unpriced_calls"] == 1
    assert entry["zero_usage_calls"] == 1

    strict = run(llm_pytester, "--llm-unpriced=fail")
    strict.assert_outcomes(failed=1)


def test_router_fallback_counts_attempts(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import httpx
        import litellm
        import respx

        from conftest import OPENAI, chat_json

        def answer(request):
            if b'"gpt-4o"' in request.content:
                return httpx.Response(500, json={"error": {"message": "overloaded"}})
            return httpx.Response(200, json=chat_json("gpt-4o-mini", 1000, 500))

        def test_fallback(monkeypatch):
            monkeypatch.setenv("OPENAI_API_KEY", "sk-mock")
            router = litellm.Router(
                model_list=[
                    {"model_name": "main", "litellm_params": {"model": "gpt-4o"}},
                    {"model_name": "backup", "litellm_params": {"model": "gpt-4o-mini"}},
                ],
                fallbacks=[{"main": ["backup"]}],
                num_retries=0,
            )
            with respx.mock(using="httpx") as mock:
                mock.post(f"{OPENAI}/chat/completions").mock(side_effect=answer)
                router.completion(model="main", messages=[{"role": "user", "content": "hi"}])
        """
    )
    run(llm_pytester).assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_fallback")
    assert entry["calls"] == 2
    assert entry["failed_calls"] == 1
    # Only the successful gpt-4o-mini attempt costs: 1000 * 1.5e-07 + 500 * 6e-07.
    assert entry["cost_usd"] == 0.00045
    assert entry["models"]["openai/gpt-4o"]["cost_usd"] == 0.0


def test_abandoned_stream_unaccounted(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_stops_reading(provider):
    stream = ask(stream=True)
    next(iter(stream))

def test_after(provider):
    ask()
"""
    )
    result = run(llm_pytester, "--llm-settle-timeout=0.5")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*UnaccountedCallWarning: LiteLLM did not report the cost of 1 call(s) within 0.5 s*",
            "unaccounted calls: 1, whose cost LiteLLM never reported; the total may be low",
        ]
    )
    abandoned = test_entry(llm_pytester, "test_stops_reading")
    assert abandoned["unaccounted_calls"] == 1
    assert abandoned["calls"] == 1
    assert test_entry(llm_pytester, "test_after")["cost_usd"] == 0.00045
    assert report(llm_pytester)["totals"]["unaccounted_calls"] == 1

    strict = run(llm_pytester, "--llm-settle-timeout=0.5", "--llm-unpriced=fail")
    strict.assert_outcomes(passed=1, failed=1)
    strict.stdout.fnmatch_lines(["*1 call(s) whose cost LiteLLM never reported*"])


def test_module_fixture_charged_to_first_setup(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest
        import respx

        from conftest import mock_openai_chat

        @pytest.fixture(scope="module")
        def warm_cache():
            with respx.mock(using="httpx") as router:
                mock_openai_chat(router, 4000, 0)
                litellm.completion(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "warm up"}],
                    api_key="sk-mock",
                )

        def test_first(warm_cache):
            pass

        def test_second(warm_cache):
            pass
        """
    )
    run(llm_pytester).assert_outcomes(passed=2)
    first = test_entry(llm_pytester, "test_first")
    # 4000 * 1.5e-07
    assert first["phases"] == {"setup": 0.0006}
    assert "test_suite.py::test_second" not in report(llm_pytester)["tests"]


def test_cache_hit_costs_nothing(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
from litellm.caching.caching import Cache

@pytest.fixture
def response_cache():
    litellm.cache = Cache(type="local")
    yield
    litellm.disable_cache()

def test_cached(provider, response_cache):
    ask()
    second = ask()
    assert provider.requests == ["gpt-4o-mini"]
    assert second._hidden_params["cache_hit"] is True
"""
    )
    run(llm_pytester).assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_cached")
    assert entry["calls"] == 2
    assert entry["cache_hits"] == 1
    assert entry["failed_calls"] == 0
    assert entry["unpriced_calls"] == 0
    # Only the first call reached the provider: 1000 * 1.5e-07 + 500 * 6e-07.
    assert entry["cost_usd"] == 0.00045
    assert entry["models"]["openai/gpt-4o-mini"]["calls"] == 2
    assert report(llm_pytester)["totals"]["cache_hits"] == 1


CUT_STREAM = """
import json

import httpx
import litellm
import pytest
import respx

from conftest import OPENAI

MESSAGES = [{"role": "user", "content": "hi"}]
CHUNK = {"id": "chatcmpl-cut", "object": "chat.completion.chunk", "created": 0,
         "model": "gpt-4o-mini"}
DELTAS = [{"role": "assistant", "content": "one two three "}, {"content": "four five"}]


class CutStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    # Two chunks of a stream, then the connection breaks: no usage chunk, no [DONE].
    def chunks(self):
        for delta in DELTAS:
            event = {**CHUNK, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            yield f"data: {json.dumps(event)}\\n\\n".encode()

    def __iter__(self):
        yield from self.chunks()
        raise httpx.RemoteProtocolError("peer closed connection")

    async def __aiter__(self):
        for chunk in self.chunks():
            yield chunk
        raise httpx.RemoteProtocolError("peer closed connection")


@pytest.fixture
def cut_stream(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-mock")
    with respx.mock(using="httpx") as router:
        router.post(f"{OPENAI}/chat/completions").mock(
            return_value=httpx.Response(
                200, stream=CutStream(), headers={"content-type": "text/event-stream"}
            )
        )
        yield
"""


def test_sync_stream_cut_unpriced(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CUT_STREAM + """
def test_cut(cut_stream):
    received = []
    with pytest.raises(litellm.exceptions.MidStreamFallbackError):
        for chunk in litellm.completion(model="gpt-4o-mini", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert len(received) == 2
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*UnpricedModelWarning: LiteLLM reported no tokens and $0 for a call to model "
         "'openai/gpt-4o-mini'*"]
    )
    entry = test_entry(llm_pytester, "test_cut")
    # LiteLLM reports the broken sync stream as a failure with $0 and no tokens,
    # although two chunks arrived: the cost is unknown, not $0.
    assert entry["calls"] == 1
    assert entry["failed_calls"] == 1
    assert entry["unpriced_calls"] == 1
    assert entry["zero_usage_calls"] == 1
    assert entry["cost_usd"] == 0.0

    strict = run(llm_pytester, "--llm-unpriced=fail")
    strict.assert_outcomes(failed=1)


def test_async_stream_cut_partial_cost(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CUT_STREAM + """
@pytest.mark.asyncio
async def test_cut(cut_stream):
    received = []
    with pytest.raises(litellm.exceptions.MidStreamFallbackError):
        stream = await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        async for chunk in stream:
            received.append(chunk)
    assert len(received) == 2
"""
    )
    run(llm_pytester).assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_cut")
    assert entry["calls"] == 1
    assert entry["failed_calls"] == 1
    assert entry["unpriced_calls"] == 0
    # LiteLLM prices what arrived, with token counts from its own tokenizer, since no
    # usage chunk came: 8 prompt tokens for the one-word user message (with the chat
    # format's overhead) and 5 completion tokens for "one two three four five".
    assert entry["prompt_tokens"] == 8
    assert entry["completion_tokens"] == 5
    # 8 * 1.5e-07 + 5 * 6e-07
    assert entry["cost_usd"] == 0.0000042


ATTEMPTS = """
import json

import httpx
import litellm
import pytest
import respx

from conftest import OPENAI, chat_json

MESSAGES = [{"role": "user", "content": "hi"}]
CONTEXT_WINDOW_ERROR = {"error": {
    "message": "This model's maximum context length is 128000 tokens.",
    "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded",
}}


@pytest.fixture
def attempts(monkeypatch):
    # gpt-4o-mini fails with the next entry of `failures` while one is left. gpt-4o succeeds.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-mock")
    sent = []
    failures = []

    def answer(request):
        model = json.loads(request.content)["model"]
        sent.append(model)
        if model == "gpt-4o-mini" and failures:
            status, body = failures.pop(0)
            return httpx.Response(status, json=body)
        return httpx.Response(200, json=chat_json(model, 1000, 500))

    with respx.mock(using="httpx") as router:
        router.post(f"{OPENAI}/chat/completions").mock(side_effect=answer)
        yield sent, failures
"""


def test_async_retry_priced_once(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=ATTEMPTS + """
@pytest.mark.asyncio
async def test_retry(attempts):
    sent, failures = attempts
    failures.append((500, {"error": {"message": "overloaded", "type": "server_error"}}))
    await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, num_retries=2)
    assert sent == ["gpt-4o-mini", "gpt-4o-mini"]
"""
    )
    run(llm_pytester).assert_outcomes(passed=1)
    entry = test_entry(llm_pytester, "test_retry")
    # The HTTP 500 attempt is billed nothing, the retry 1000 * 1.5e-07 + 500 * 6e-07.
    assert entry["calls"] == 1
    assert entry["failed_calls"] == 0
    assert entry["unaccounted_calls"] == 0
    assert entry["cost_usd"] == 0.00045


@pytest.mark.parametrize("entry_point", ["completion", "acompletion"])
def test_context_window_fallback_unaccounted(
    llm_pytester: pytest.Pytester, entry_point: str
) -> None:
    call = (
        "litellm.completion(" if entry_point == "completion" else "await litellm.acompletion("
    )
    llm_pytester.makepyfile(
        test_suite=ATTEMPTS + f"""
@pytest.mark.asyncio
async def test_fallback(attempts):
    sent, failures = attempts
    failures.append((400, CONTEXT_WINDOW_ERROR))
    response = {call}
        model="gpt-4o-mini", messages=MESSAGES,
        context_window_fallback_dict={{"gpt-4o-mini": "gpt-4o"}},
    )
    assert sent == ["gpt-4o-mini", "gpt-4o"]
    assert response.model == "gpt-4o"

def test_after(attempts):
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
"""
    )
    result = run(llm_pytester, "--llm-settle-timeout=0.5")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*UnaccountedCallWarning: LiteLLM did not report the cost of 1 call(s) within 0.5 s*"]
    )
    entry = test_entry(llm_pytester, "test_fallback")
    # LiteLLM reports no event for the gpt-4o attempt that answered.
    assert entry["unaccounted_calls"] == 1
    assert entry["models"]["openai/gpt-4o"]["calls"] == 1
    if entry_point == "acompletion":
        # The async path reports the context-window error as a failed call first.
        assert entry["calls"] == 2
        assert entry["failed_calls"] == 1
    else:
        assert entry["calls"] == 1
        assert entry["failed_calls"] == 0
    assert entry["cost_usd"] == 0.0
    # 1000 * 1.5e-07 + 500 * 6e-07: nothing of the fallback leaks into the next test.
    after = test_entry(llm_pytester, "test_after")
    assert after["calls"] == 1
    assert after["cost_usd"] == 0.00045

    strict = run(llm_pytester, "--llm-settle-timeout=0.5", "--llm-unpriced=fail")
    strict.assert_outcomes(passed=1, failed=1)
    strict.stdout.fnmatch_lines(["*1 call(s) whose cost LiteLLM never reported*"])


def test_sync_fallbacks_priced(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=ATTEMPTS + """
def test_fallback(attempts):
    sent, failures = attempts
    failures.append((400, {"error": {"message": "bad request", "type": "invalid_request_error"}}))
    response = litellm.completion(model="gpt-4o-mini", messages=MESSAGES, fallbacks=["gpt-4o"])
    assert sent == ["gpt-4o-mini", "gpt-4o"]
    assert response.model == "gpt-4o"

def test_after(attempts):
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
"""
    )
    result = run(llm_pytester, "--llm-settle-timeout=0.5")
    result.assert_outcomes(passed=2)
    entry = test_entry(llm_pytester, "test_fallback")
    assert entry["calls"] == 2
    assert entry["failed_calls"] == 1
    assert entry["unaccounted_calls"] == 0
    # Only the gpt-4o attempt is billed: 1000 * 2.5e-06 + 500 * 1e-05.
    assert entry["cost_usd"] == 0.0075
    assert entry["models"]["openai/gpt-4o"]["cost_usd"] == 0.0075
    # 1000 * 1.5e-07 + 500 * 6e-07
    after = test_entry(llm_pytester, "test_after")
    assert after["calls"] == 1
    assert after["cost_usd"] == 0.00045


def test_dropped_logging_work_unaccounted(
    llm_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LiteLLM drops sync logging work past this many queued or running tasks. It reads
    # the variable at import, so the run needs a fresh process.
    monkeypatch.setenv("LOGGING_EXECUTOR_MAX_PENDING_TASKS", "1")
    llm_pytester.makepyfile(
        test_suite=CALL + """
import threading

from litellm.integrations.custom_logger import CustomLogger

class SlowLogger(CustomLogger):
    # A user's logging callback that blocks until released, holding the only slot.
    def __init__(self):
        super().__init__()
        self.release = threading.Event()

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.release.wait(10)

def test_burst(provider):
    slow = SlowLogger()
    litellm.logging_callback_manager.add_litellm_callback(slow)
    try:
        ask()
        ask()  # its success event finds the executor full and is dropped
    finally:
        slow.release.set()

def test_after(provider):
    ask()
"""
    )
    # -rP shows the passed tests' captured logs, where LiteLLM reports the drop.
    result = run_subprocess(llm_pytester, "--llm-settle-timeout=1", "-rP")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*litellm logging executor backlog is full*"])
    result.stdout.fnmatch_lines(
        ["*UnaccountedCallWarning: LiteLLM did not report the cost of 1 call(s) within 1 s*"]
    )
    entry = test_entry(llm_pytester, "test_burst")
    assert entry["calls"] == 2
    assert entry["unaccounted_calls"] == 1
    # The first call: 1000 * 1.5e-07 + 500 * 6e-07.
    assert entry["cost_usd"] == 0.00045
    assert test_entry(llm_pytester, "test_after")["cost_usd"] == 0.00045
