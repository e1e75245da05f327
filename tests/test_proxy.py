"""Tests that call a real LiteLLM proxy through the OpenAI SDK, with --llm-proxy-log.

One proxy runs for this module, with pytest_llmcost.proxy.cost_logger as its
callback, in front of a mock OpenAI provider on 127.0.0.1 that reports 1,000
prompt and 500 completion tokens for every call. At gpt-4o-mini's bundled
prices (1.5e-07 and 6e-07 per token) one call costs
1000 * 1.5e-07 + 500 * 6e-07 = 0.00015 + 0.0003 = $0.00045.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from xml.etree import ElementTree
from pathlib import Path
from typing import Any

import pytest

from llmcost_testing import BASE_ARGS, read_report
from proxy_server import (
    INSTALL_HINT,
    MockProvider,
    RunningProxy,
    missing_proxy_modules,
    start_proxy,
    stop_proxy,
)

pytestmark = pytest.mark.skipif(bool(missing_proxy_modules()), reason=INSTALL_HINT)

CALL_COST = 0.00045  # 1000 * 1.5e-07 + 500 * 6e-07

CLIENT = """
import os

import openai


def proxy_client(headers=None):
    return openai.OpenAI(
        base_url=os.environ["LLMCOST_TEST_PROXY_URL"],
        api_key=os.environ["LLMCOST_TEST_PROXY_KEY"],
        default_headers=headers,
        max_retries=0,
    )


def ask(client, stream=False, model="mini"):
    messages = [{"role": "user", "content": "Say hello."}]
    if not stream:
        return client.chat.completions.create(model=model, messages=messages)
    chunks = client.chat.completions.create(model=model, messages=messages, stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    directory = tmp_path_factory.mktemp("proxy")
    with MockProvider() as provider:
        running = start_proxy(directory, provider.port)
        try:
            yield running
        finally:
            stop_proxy(running)


@pytest.fixture
def proxy_pytester(
    pytester: pytest.Pytester, proxy: RunningProxy, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    monkeypatch.setenv("LLMCOST_TEST_PROXY_URL", proxy.url)
    monkeypatch.setenv("LLMCOST_TEST_PROXY_KEY", proxy.key)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    pytester.makepyfile(proxy_client=CLIENT)
    pytester.makeini("[pytest]\n")
    return pytester


def run(pytester: pytest.Pytester, proxy: RunningProxy, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        *BASE_ARGS, f"--llm-proxy-log={proxy.log}", "--llm-cost-json=cost.json", *args
    )


class LogTail:
    """The lines a proxy appends to its cost log from now on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def lines(self) -> list[dict[str, Any]]:
        with open(self.path, "rb") as file:
            file.seek(self.offset)
            return [json.loads(line) for line in file.read().splitlines() if line.strip()]


def test_proxy_calls_cost_logged_amount(
    proxy_pytester: pytest.Pytester, proxy: RunningProxy
) -> None:
    proxy_pytester.makepyfile(
        test_suite="""
        from proxy_client import ask, proxy_client

        def test_reply(llm_cost):
            client = proxy_client(llm_cost.proxy_headers)
            raw = client.chat.completions.with_raw_response.create(
                model="mini", messages=[{"role": "user", "content": "Say hello."}]
            )
            with open("header-cost.txt", "w") as file:
                file.write(raw.headers["x-litellm-response-cost"])
            assert ask(client, stream=True) == "Hello from the mock."
            # Reading waits for the proxy to log both calls.
            assert llm_cost.calls == 2
            assert llm_cost.usd == 0.0009
        """
    )
    tail = LogTail(proxy.log)
    result = run(proxy_pytester, proxy, "--junitxml=junit.xml")
    result.assert_outcomes(passed=1)

    lines = tail.lines()
    assert len(lines) == 2
    regular, streamed = sorted(lines, key=lambda line: line["stream"])
    for line in lines:
        assert line["test"] == "test_suite.py::test_reply"
        assert line["model"] == "openai/gpt-4o-mini"
        assert (line["prompt_tokens"], line["completion_tokens"]) == (1000, 500)
        assert line["cost_usd"] == CALL_COST
        assert line["status"] == "success"
        assert line["unpriced"] is False
    assert (regular["stream"], streamed["stream"]) == (False, True)
    # The proxy's own header for the regular call has the same cost.
    header = float((proxy_pytester.path / "header-cost.txt").read_text())
    assert header == regular["cost_usd"] == 0.00045

    document = read_report(proxy_pytester.path / "cost.json")
    entry = document["tests"]["test_suite.py::test_reply"]
    assert entry["cost_usd"] == 0.0009  # 2 * 0.00045
    assert (entry["calls"], entry["proxy_calls"], entry["failed_calls"]) == (2, 2, 0)
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (2000, 1000)
    assert entry["phases"] == {"call": 0.0009}
    assert entry["models"] == {
        "openai/gpt-4o-mini": {
            "calls": 2, "cost_usd": 0.0009, "prompt_tokens": 2000, "completion_tokens": 1000,
        }
    }
    assert document["totals"]["cost_usd"] == 0.0009
    assert document["totals"]["proxy_calls"] == 2
    result.stdout.fnmatch_lines(["*$0.0009 in 2 calls (2 via LiteLLM proxy)*"])
    testcase = ElementTree.parse(proxy_pytester.path / "junit.xml").getroot().find(".//testcase")
    assert testcase is not None
    properties = {
        item.get("name"): item.get("value") for item in testcase.iter("property")
    }
    assert properties["llm_cost_usd"] == "0.0009"
    assert properties["llm_proxy_calls"] == "2"


def test_marker_budget_below_proxy_spend_fails(
    proxy_pytester: pytest.Pytester, proxy: RunningProxy
) -> None:
    proxy_pytester.makepyfile(
        test_suite="""
        import pytest
        from proxy_client import ask, proxy_client

        @pytest.mark.llm_budget(0.0008)
        def test_two_calls(llm_cost):
            client = proxy_client(llm_cost.proxy_headers)
            ask(client)
            ask(client, stream=True)
        """
    )
    result = run(proxy_pytester, proxy)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "LLM budget exceeded: spent $0.0009 of $0.0008 (marker) in 2 calls",
        "spent $0.0009 in 2 calls (2 via LiteLLM proxy)*",
        "budget $0.0008 (marker)",
        "*",
        "openai/gpt-4o-mini      2  $0.0009          2,000              1,000",
    ])


def test_run_budget_counts_proxy_calls(
    proxy_pytester: pytest.Pytester, proxy: RunningProxy
) -> None:
    proxy_pytester.makepyfile(
        test_suite="""
        from proxy_client import ask, proxy_client

        def test_first(llm_cost):
            ask(proxy_client(llm_cost.proxy_headers))

        def test_second(llm_cost):
            ask(proxy_client(llm_cost.proxy_headers))

        def test_third(llm_cost):
            ask(proxy_client(llm_cost.proxy_headers))
        """
    )
    result = run(proxy_pytester, proxy, "--llm-budget=0.0005")
    assert result.ret == 1
    # $0.00045 after the first test is within budget; the second crosses it ($0.0009),
    # and the run starts no further test.
    result.stdout.fnmatch_lines(["FAIL LLM run budget exceeded: spent $0.0009 of $0.0005*"])
    document = read_report(proxy_pytester.path / "cost.json")
    assert sorted(document["tests"]) == ["test_suite.py::test_first", "test_suite.py::test_second"]
    assert document["totals"]["cost_usd"] == 0.0009


def test_untagged_call_goes_to_the_running_test(
    proxy_pytester: pytest.Pytester, proxy: RunningProxy
) -> None:
    proxy_pytester.makepyfile(
        test_suite="""
        from proxy_client import ask, proxy_client

        def test_untagged(llm_cost):
            ask(proxy_client())
            ask(proxy_client(), stream=True)
            # The proxy noted both requests when it started them, during this test,
            # so reading waits until it has logged them.
            assert llm_cost.calls == 2

        def test_after():
            pass
        """
    )
    result = run(proxy_pytester, proxy)
    result.assert_outcomes(passed=2)
    document = read_report(proxy_pytester.path / "cost.json")
    entry = document["tests"]["test_suite.py::test_untagged"]
    assert entry["cost_usd"] == 0.0009  # 2 * 0.00045
    assert entry["phases"] == {"call": 0.0009}
    assert "test_suite.py::test_after" not in document["tests"]
    assert document["outside_tests"]["calls"] == 0


def test_failed_call_is_counted_as_failed(
    proxy_pytester: pytest.Pytester, proxy: RunningProxy
) -> None:
    proxy_pytester.makepyfile(
        test_suite="""
        import openai
        import pytest
        from proxy_client import ask, proxy_client

        def test_provider_down(llm_cost):
            with pytest.raises(openai.APIError):
                ask(proxy_client(llm_cost.proxy_headers), model="down")
        """
    )
    tail = LogTail(proxy.log)
    result = run(proxy_pytester, proxy)
    result.assert_outcomes(passed=1)
    (line,) = tail.lines()
    assert (line["status"], line["cost_usd"], line["test"]) == (
        "failure", 0.0, "test_suite.py::test_provider_down"
    )
    entry = read_report(proxy_pytester.path / "cost.json")["tests"]["test_suite.py::test_provider_down"]
    assert (entry["calls"], entry["failed_calls"], entry["cost_usd"]) == (1, 1, 0.0)


def test_model_priced_in_proxy_config(
    proxy_pytester: pytest.Pytester, proxy: RunningProxy
) -> None:
    proxy_pytester.makepyfile(
        test_suite="""
        from proxy_client import ask, proxy_client

        def test_inhouse(llm_cost):
            ask(proxy_client(llm_cost.proxy_headers), model="inhouse")
        """
    )
    tail = LogTail(proxy.log)
    result = run(proxy_pytester, proxy)
    result.assert_outcomes(passed=1)
    (line,) = tail.lines()
    assert line["model"] == "openai/inhouse-model"
    # model_info prices in the config: 1000 * 1e-06 + 500 * 2e-06 = 0.002.
    assert line["cost_usd"] == 0.002
    assert line["unpriced"] is False
    entry = read_report(proxy_pytester.path / "cost.json")["tests"]["test_suite.py::test_inhouse"]
    assert entry["cost_usd"] == 0.002
    assert entry["unpriced_calls"] == 0


def test_log_holds_no_prompt_key_or_header(
    proxy_pytester: pytest.Pytester, proxy: RunningProxy
) -> None:
    proxy_pytester.makepyfile(
        test_suite="""
        import openai
        from proxy_client import proxy_client

        def test_canaries(llm_cost):
            client = proxy_client({**llm_cost.proxy_headers, "x-team-secret": "CANARY-HEADER"})
            client.chat.completions.create(
                model="mini",
                messages=[{"role": "user", "content": "CANARY-PROMPT"}],
                user="CANARY-USER",
                metadata={"note": "CANARY-METADATA"},
            )
        """
    )
    tail = LogTail(proxy.log)
    result = run(proxy_pytester, proxy)
    result.assert_outcomes(passed=1)
    (line,) = tail.lines()
    written = json.dumps(line) + proxy.log.with_name(proxy.log.name + ".started").read_text()
    for canary in ("CANARY", proxy.key, "sk-mock-provider", "Hello from the mock"):
        assert canary not in written


def test_serial_and_xdist_agree(proxy_pytester: pytest.Pytester, proxy: RunningProxy) -> None:
    pytest.importorskip("xdist")
    for name in ("test_one", "test_two"):
        proxy_pytester.makepyfile(
            **{
                name: """
                from proxy_client import ask, proxy_client

                def test_regular(llm_cost):
                    ask(proxy_client(llm_cost.proxy_headers))

                def test_streamed(llm_cost):
                    ask(proxy_client(llm_cost.proxy_headers), stream=True)
                """
            }
        )
    serial = run(proxy_pytester, proxy)
    serial.assert_outcomes(passed=4)
    serial_report = read_report(proxy_pytester.path / "cost.json")
    parallel = run(proxy_pytester, proxy, "-n", "2")
    parallel.assert_outcomes(passed=4)
    parallel_report = read_report(proxy_pytester.path / "cost.json")

    for document in (serial_report, parallel_report):
        assert document["totals"]["cost_usd"] == 0.0018  # 4 * 0.00045
        assert document["totals"]["proxy_calls"] == 4
        assert document["outside_tests"]["calls"] == 0
        assert {nodeid: entry["cost_usd"] for nodeid, entry in document["tests"].items()} == {
            "test_one.py::test_regular": CALL_COST,
            "test_one.py::test_streamed": CALL_COST,
            "test_two.py::test_regular": CALL_COST,
            "test_two.py::test_streamed": CALL_COST,
        }
