"""How --llm-proxy-log books the lines of a proxy's cost log, without a running proxy.

The inner tests append lines in the format of pytest_llmcost.proxy's callback
(tests/test_proxy.py checks that callback in a real LiteLLM proxy), including
lines that callback never writes: malformed ones, and requests that never settle.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmcost_testing import BASE_ARGS, read_report
from pytest_llmcost.proxy_log import InvalidLineError, append_line, parse_settled, parse_started

WRITER = """
import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from pytest_llmcost.proxy_log import append_line

LOG = Path(os.environ["LLMCOST_PROXY_LOG"])


def now():
    return datetime.now(timezone.utc).isoformat()


def settled(call_id, test=None, cost=0.00045, **fields):
    entry = {
        "time": now(), "call_id": call_id, "model": "openai/gpt-4o-mini",
        "call_type": "acompletion", "prompt_tokens": 1000, "completion_tokens": 500,
        "cost_usd": cost, "unpriced": cost is None, "stream": False, "status": "success",
        "cache_hit": False, "test": test,
    }
    entry.update(fields)
    append_line(LOG, entry)


def started(call_id, test):
    entry = {"time": now(), "call_id": call_id, "model": "openai/gpt-4o-mini",
             "stream": True, "test": test}
    append_line(LOG.with_name(LOG.name + ".started"), entry)


def settle_later(seconds, *args, **kwargs):
    timer = threading.Timer(seconds, settled, args, kwargs)
    timer.start()
    return timer
"""


@pytest.fixture
def log_pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(proxy_writer=WRITER)
    pytester.makeini("[pytest]\n")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        *BASE_ARGS, "--llm-proxy-log=proxy/llm-cost.jsonl", "--llm-cost-json=cost.json", *args
    )


def test_lines_are_charged_by_tag_time_or_outside(log_pytester: pytest.Pytester) -> None:
    log_pytester.makepyfile(
        test_suite="""
        from proxy_writer import settled

        def test_tagged(llm_cost):
            settled("call-1", test="test_suite.py::test_tagged")
            settled("call-2", test="test_suite.py::test_tagged", stream=True)
            assert llm_cost.calls == 2

        def test_untagged(llm_cost):
            settled("call-3")
            assert llm_cost.calls == 1

        def test_other_run():
            # A test id of no test in this run: its cost still counts, outside tests.
            settled("call-4", test="elsewhere.py::test_gone")
        """
    )
    result = run(log_pytester)
    result.assert_outcomes(passed=3)
    document = read_report(log_pytester.path / "cost.json")
    tests = document["tests"]
    assert tests["test_suite.py::test_tagged"]["cost_usd"] == 0.0009  # 2 * 0.00045
    assert tests["test_suite.py::test_tagged"]["proxy_calls"] == 2
    assert tests["test_suite.py::test_untagged"]["cost_usd"] == 0.00045
    assert "test_suite.py::test_other_run" not in tests
    assert document["outside_tests"]["cost_usd"] == 0.00045
    assert document["outside_tests"]["proxy_calls"] == 1
    assert document["totals"]["cost_usd"] == 0.0018  # 4 * 0.00045
    assert document["totals"]["calls"] == 4


def test_verdict_waits_for_a_started_request(log_pytester: pytest.Pytester) -> None:
    log_pytester.makepyfile(
        test_suite="""
        import pytest
        from proxy_writer import settle_later, started

        @pytest.mark.llm_budget(0.0004)
        def test_slow_proxy():
            started("call-1", "test_suite.py::test_slow_proxy")
            # The proxy logs the call 0.3 s after the test body returned.
            settle_later(0.3, "call-1", test="test_suite.py::test_slow_proxy")
        """
    )
    result = run(log_pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*LLM budget exceeded: spent $0.00045 of $0.0004 (marker)*"])


def test_untagged_request_booked_where_started(log_pytester: pytest.Pytester) -> None:
    log_pytester.makepyfile(
        test_suite="""
        from proxy_writer import settle_later, started

        def test_untagged():
            started("call-1", None)
            # Logged 0.3 s after the test body returned, in its teardown or later.
            settle_later(0.3, "call-1")

        def test_next():
            pass
        """
    )
    result = run(log_pytester)
    result.assert_outcomes(passed=2)
    tests = read_report(log_pytester.path / "cost.json")["tests"]
    assert tests["test_suite.py::test_untagged"]["cost_usd"] == 0.00045
    assert tests["test_suite.py::test_untagged"]["phases"] == {"call": 0.00045}
    assert "test_suite.py::test_next" not in tests


def test_request_that_never_settles_is_unaccounted(log_pytester: pytest.Pytester) -> None:
    log_pytester.makepyfile(
        test_suite="""
        from proxy_writer import started

        def test_lost():
            started("call-1", "test_suite.py::test_lost")
        """
    )
    result = run(log_pytester, "--llm-settle-timeout=0.5")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*UnaccountedCallWarning: LiteLLM did not report the cost of 1*"])
    entry = read_report(log_pytester.path / "cost.json")["tests"]["test_suite.py::test_lost"]
    assert (entry["calls"], entry["unaccounted_calls"], entry["proxy_calls"]) == (1, 1, 1)

    failing = run(log_pytester, "--llm-settle-timeout=0.5", "--llm-unpriced=fail")
    failing.assert_outcomes(failed=1)


def test_unpriced_and_unreadable_lines_are_never_free(log_pytester: pytest.Pytester) -> None:
    log_pytester.makepyfile(
        test_suite="""
        from proxy_writer import LOG, settled

        def test_odd_lines(llm_cost):
            settled("call-1", test="test_suite.py::test_odd_lines", cost=None,
                    model="openai/inhouse-model")
            with open(LOG, "a") as log:
                log.write('{"status": "success", "cost_usd": "free"}\\n')
                log.write("not json at all\\n")
            assert llm_cost.calls == 3
        """
    )
    result = run(log_pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*UnpricedModelWarning: LiteLLM has no price for model 'openai/inhouse-model'*"]
    )
    result.stdout.fnmatch_lines([
        "*PluginFaultWarning: pytest-llmcost could not read a LiteLLM event in a line of *"
        "llm-cost.jsonl (InvalidLineError: 'model' is None, expected a non-empty string, "
        "2 time(s)): the call is counted as unaccounted",
    ])
    entry = read_report(log_pytester.path / "cost.json")["tests"]["test_suite.py::test_odd_lines"]
    assert (entry["calls"], entry["unpriced_calls"], entry["unaccounted_calls"]) == (3, 1, 2)
    assert entry["cost_usd"] == 0.0


def test_lines_of_earlier_runs_are_skipped(log_pytester: pytest.Pytester) -> None:
    log = log_pytester.path / "proxy" / "llm-cost.jsonl"
    log.parent.mkdir()
    append_line(log, {"time": "2026-01-01T00:00:00+00:00", "call_id": "old", "model": "m",
                      "cost_usd": 5.0, "status": "success", "test": None})
    log_pytester.makepyfile(test_suite="def test_nothing(): pass")
    result = run(log_pytester)
    result.assert_outcomes(passed=1)
    assert read_report(log_pytester.path / "cost.json")["totals"]["calls"] == 0


def _append_many(path: str, writer: int, count: int) -> None:
    for number in range(count):
        append_line(Path(path), {"writer": writer, "number": number, "padding": "x" * 3000})


def test_concurrent_writers_append_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "llm-cost.jsonl"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_many, args=(str(log), n, 300)) for n in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 1200
    assert sorted((line["writer"], line["number"]) for line in lines) == [
        (writer, number) for writer in range(4) for number in range(300)
    ]


def test_proxy_headers_name_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_suite="""
        def test_headers(llm_cost):
            assert llm_cost.proxy_headers == {"x-llmcost-test": "test_suite.py::test_headers"}
        """
    )
    pytester.runpytest(*BASE_ARGS).assert_outcomes(passed=1)


LINE_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
LINE_KEYS = st.sampled_from([
    "time", "call_id", "model", "call_type", "prompt_tokens", "completion_tokens", "cost_usd",
    "unpriced", "stream", "status", "cache_hit", "test",
])


@given(
    st.dictionaries(LINE_KEYS, LINE_VALUES | st.just("2026-12-05T00:00:00+00:00"), max_size=12)
)
def test_any_line_parses_or_is_invalid(entry: dict[str, object]) -> None:
    text = json.dumps(entry)
    for parse in (parse_settled, parse_started):
        try:
            parse(text)
        except InvalidLineError:
            pass


@given(st.text(max_size=200))
def test_any_text_parses_or_is_invalid(text: str) -> None:
    for parse in (parse_settled, parse_started):
        try:
            parse(text)
        except InvalidLineError:
            pass


def test_unwritable_log_is_logged_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from pytest_llmcost.proxy import ProxyCostLogger

    # A directory cannot be appended to, so the write fails inside the proxy.
    monkeypatch.setenv("LLMCOST_PROXY_LOG", str(tmp_path))
    event = {
        "litellm_call_id": "call-1", "model": "gpt-4o-mini", "custom_llm_provider": "openai",
        "response_cost": 0.00045, "stream": False,
    }
    callback = ProxyCostLogger()
    with caplog.at_level("ERROR", logger="pytest_llmcost.proxy"):
        callback.log_pre_api_call("gpt-4o-mini", [], event)
        callback.log_success_event(event, None, None, None)
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["pytest-llmcost could not write a call to its cost log"]
    # The file of started requests sits beside the directory, where it could be written.
    started = tmp_path.with_name(tmp_path.name + ".started").read_text()
    assert '"call_id":"call-1"' in started
