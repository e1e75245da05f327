"""Faults never fail open and never lose the record; reports never hold secrets."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmcost_testing import BASE_ARGS, report, run, run_subprocess, test_entry
from pytest_llmcost.accounting import Accountant
from pytest_llmcost.ledger import Ledger, Location

CALL = """
import litellm
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]

def ask():
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
"""

KNOWN_KEYS = [
    "model", "response_cost", "stream", "call_type", "litellm_call_id", "cache_hit",
    "custom_llm_provider", "litellm_params", "standard_logging_object",
    "complete_streaming_response", "async_complete_streaming_response", "exception",
]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS + ["prompt_tokens", "completion_tokens",
                                                    "usage"]), children, max_size=4),
    max_leaves=10,
)
PAYLOADS = st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=10), VALUES,
                           max_size=8)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=PAYLOADS,
    end=PAYLOADS,
    response=VALUES,
    status=st.sampled_from(["success", "failure"]),
    started=st.booleans(),
)
def test_callback_never_raises(
    start: dict[str, object], end: dict[str, object], response: object, status: str,
    started: bool,
) -> None:
    ledger = Ledger()
    accountant = Accountant(ledger, location=Location("test_x.py::test_y", "call"))
    if started:
        accountant.call_started(start.get("model"), start)
        end = {**start, **end}
    accountant.call_ended(end, response, status, "log_success_event")  # type: ignore[arg-type]

    records = ledger.records()
    # Every terminal event is booked exactly once: read, or counted as unaccounted.
    assert len(records) == 1
    record = records[0]
    assert record.nodeid == "test_x.py::test_y"
    if record.cost_usd is not None:
        assert math.isfinite(record.cost_usd)
        assert record.cost_usd >= 0
    assert record.prompt_tokens >= 0
    assert record.completion_tokens >= 0


def test_unreadable_event_counted_and_warned(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
from pytest_llmcost.litellm_bridge import CostCallback

def test_malformed_event(provider):
    ask()
    # A terminal event whose cost is not a number, as a broken LiteLLM release or
    # another callback could deliver it to the plugin's registered callback.
    # The last one registered is this run's (an outer pytest run may have one too).
    callback = [c for c in litellm.callbacks if isinstance(c, CostCallback)][-1]
    callback.log_success_event(
        kwargs={"model": "gpt-4o-mini", "response_cost": "not a number"},
        response_obj=None, start_time=None, end_time=None,
    )
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*PluginFaultWarning: pytest-llmcost could not read a LiteLLM event in "
         "log_success_event (TypeError: response_cost has type str, expected a number, 1 "
         "time(s)): the call is counted as unaccounted*"]
    )
    entry = test_entry(llm_pytester, "test_malformed_event")
    assert entry["calls"] == 2
    assert entry["unaccounted_calls"] == 1
    assert entry["cost_usd"] == 0.00045
    assert "INTERNALERROR" not in result.stdout.str()


def test_keyboard_interrupt_keeps_report(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_first(provider):
    ask()

def test_interrupted(provider):
    ask()
    raise KeyboardInterrupt

def test_never_runs(provider):
    ask()
"""
    )
    # In a subprocess: an in-process run passes the KeyboardInterrupt on to this run.
    result = run_subprocess(llm_pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*= LLM cost =*",
            "total: $0.0009 in 2 calls*",
            "the run ended early: these numbers cover the tests that ran",
        ]
    )
    document = report(llm_pytester)
    assert document["complete"] is False
    assert document["totals"]["calls"] == 2
    # 2 * 0.00045
    assert document["totals"]["cost_usd"] == 0.0009


@pytest.mark.parametrize("option", ["-x", "--maxfail=1"])
def test_early_stop_marks_report_incomplete(llm_pytester: pytest.Pytester, option: str) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_fails(provider):
    ask()
    assert False

def test_skipped_by_stop(provider):
    ask()
"""
    )
    result = run(llm_pytester, option)
    result.assert_outcomes(failed=1)
    document = report(llm_pytester)
    assert document["complete"] is False
    assert document["totals"]["cost_usd"] == 0.00045


def test_collection_error_keeps_report(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_good=CALL + "\ndef test_one(provider):\n    ask()\n",
                            test_broken="import nonexistent_module_for_llmcost\n")
    result = run(llm_pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    document = report(llm_pytester)
    assert document["complete"] is False
    assert document["totals"]["calls"] == 0


def test_complete_run_marked_complete(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_suite=CALL + "\ndef test_one(provider):\n    ask()\n")
    run(llm_pytester).assert_outcomes(passed=1)
    assert report(llm_pytester)["complete"] is True


def test_unwritable_report_path_fails_at_start(pytester: pytest.Pytester) -> None:
    (pytester.path / "a_file").write_text("not a directory")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*BASE_ARGS, "--llm-cost-json=a_file/cost.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: cannot write the report 'a_file/cost.json' from option --llm-cost-json: *"]
    )
    result.stdout.no_fnmatch_line("*passed*")


def test_old_litellm_fails_budgeted_run(
    llm_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A distribution record of an old LiteLLM, found before the installed one.
    fake = llm_pytester.mkdir("old_litellm_metadata")
    info = fake / "litellm-1.50.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: litellm\nVersion: 1.50.0\n")
    monkeypatch.setenv("PYTHONPATH", str(fake))
    llm_pytester.makepyfile(test_suite=CALL + "\ndef test_one(provider):\n    ask()\n")

    result = llm_pytester.runpytest_subprocess(*BASE_ARGS, "--llm-budget=1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["FAIL budgets not enforced: LiteLLM 1.50.0 is older than 1.108.4, the oldest release "
         "pytest-llmcost supports: upgrade it with pip install 'litellm>=1.108.4'"]
    )

    without_budget = llm_pytester.runpytest_subprocess(*BASE_ARGS)
    without_budget.assert_outcomes(passed=1, warnings=1)
    without_budget.stdout.fnmatch_lines(["*PluginFaultWarning: LiteLLM 1.50.0 is older*"])


def test_reports_hold_no_secrets(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        def test_canaries(provider):
            litellm.completion(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "CANARY-PROMPT-7f3a"}],
                api_key="sk-CANARY-KEY-91bd",
                metadata={"note": "CANARY-METADATA-22c1"},
                extra_headers={"X-Canary": "CANARY-HEADER-5e0f"},
            )
            litellm.completion(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "CANARY-PROMPT-7f3a"}],
                api_key="sk-CANARY-KEY-91bd",
                stream=True,
            )

        @pytest.mark.llm_budget(0.0001)
        def test_over_budget(provider):
            litellm.completion(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "CANARY-PROMPT-7f3a"}],
                api_key="sk-CANARY-KEY-91bd",
            )
        """
    )
    result = run(llm_pytester, "-rA", "--llm-budget=1")
    result.assert_outcomes(passed=1, failed=1)
    outputs = [result.stdout.str(), result.stderr.str(),
               (llm_pytester.path / "cost.json").read_text()]
    for output in outputs:
        for canary in ("CANARY-PROMPT", "CANARY-KEY", "CANARY-METADATA", "CANARY-HEADER"):
            assert canary not in output
    assert json.loads(outputs[2])["totals"]["calls"] == 3
