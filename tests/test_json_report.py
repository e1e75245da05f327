"""The JSON report document, field by field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from llmcost_testing import read_report, report, run
from pytest_llmcost.report.json_report import SCHEMA_VERSION, load_schema


def test_json_document(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        MESSAGES = [{"role": "user", "content": "hi"}]

        @pytest.mark.llm_budget(0.001)
        def test_chat(provider):
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
            provider.usage(2000, 100)
            litellm.completion(model="anthropic/claude-haiku-4-5", messages=MESSAGES)

        @pytest.mark.llm_budget(0.5)
        def test_budget_only():
            pass

        def test_skipped(provider):
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
            pytest.skip("not today")

        def test_free():
            pass
        """
    )
    result = run(llm_pytester, "--llm-budget=0.05")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    # gpt-4o-mini: 1000 * 1.5e-07 + 500 * 6e-07 = 0.00045 a call, two calls
    # claude-haiku-4-5: 2000 * 1e-06 + 100 * 5e-06 = 0.0025
    document = report(llm_pytester)
    assert document.pop("plugin_version") == "0.1.0"
    assert document.pop("litellm_version") == litellm_version()
    assert document == {
        "schema_version": 1,
        "price_map": "bundled",
        "complete": True,
        "budgets": {"run_usd": 0.05, "run_source": "cli", "test_usd": None, "test_source": None},
        "totals": {
            "cost_usd": 0.0034, "calls": 3, "failed_calls": 0, "unpriced_calls": 0,
            "unaccounted_calls": 0, "cache_hits": 0, "refused_calls": 0, "zero_usage_calls": 0, "hook_priced_calls": 0, "proxy_calls": 0,
            "prompt_tokens": 4000, "completion_tokens": 1100,
        },
        "run_over_budget": False,
        "run_overshoot_usd": 0.0,
        "models": {
            "anthropic/claude-haiku-4-5": {
                "calls": 1, "cost_usd": 0.0025, "prompt_tokens": 2000, "completion_tokens": 100,
            },
            "openai/gpt-4o-mini": {
                "calls": 2, "cost_usd": 0.0009, "prompt_tokens": 2000, "completion_tokens": 1000,
            },
        },
        "tests": {
            "test_suite.py::test_budget_only": {
                "outcome": "passed", "cost_usd": 0.0, "calls": 0, "failed_calls": 0,
                "unpriced_calls": 0, "unaccounted_calls": 0, "cache_hits": 0, "refused_calls": 0, "zero_usage_calls": 0, "hook_priced_calls": 0, "proxy_calls": 0,
                "prompt_tokens": 0, "completion_tokens": 0,
                "budget_usd": 0.5, "budget_source": "marker", "over_budget": False,
                "phases": {}, "models": {},
            },
            "test_suite.py::test_chat": {
                "outcome": "failed", "cost_usd": 0.00295, "calls": 2, "failed_calls": 0,
                "unpriced_calls": 0, "unaccounted_calls": 0, "cache_hits": 0, "refused_calls": 0, "zero_usage_calls": 0, "hook_priced_calls": 0, "proxy_calls": 0,
                "prompt_tokens": 3000, "completion_tokens": 600,
                "budget_usd": 0.001, "budget_source": "marker", "over_budget": True,
                "phases": {"call": 0.00295},
                "models": {
                    "anthropic/claude-haiku-4-5": {
                        "calls": 1, "cost_usd": 0.0025,
                        "prompt_tokens": 2000, "completion_tokens": 100,
                    },
                    "openai/gpt-4o-mini": {
                        "calls": 1, "cost_usd": 0.00045,
                        "prompt_tokens": 1000, "completion_tokens": 500,
                    },
                },
            },
            "test_suite.py::test_skipped": {
                "outcome": "skipped", "cost_usd": 0.00045, "calls": 1, "failed_calls": 0,
                "unpriced_calls": 0, "unaccounted_calls": 0, "cache_hits": 0, "refused_calls": 0, "zero_usage_calls": 0, "hook_priced_calls": 0, "proxy_calls": 0,
                "prompt_tokens": 1000, "completion_tokens": 500,
                "budget_usd": None, "budget_source": None, "over_budget": False,
                "phases": {"call": 0.00045},
                "models": {
                    "openai/gpt-4o-mini": {
                        "calls": 1, "cost_usd": 0.00045,
                        "prompt_tokens": 1000, "completion_tokens": 500,
                    },
                },
            },
        },
        "outside_tests": {
            "cost_usd": 0.0, "calls": 0, "failed_calls": 0, "unpriced_calls": 0,
            "unaccounted_calls": 0, "refused_calls": 0, "proxy_calls": 0, "prompt_tokens": 0, "completion_tokens": 0,
            "models": {},
        },
    }


def litellm_version() -> str:
    from importlib.metadata import version

    return version("litellm")


def test_json_written_without_calls(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--llm-cost-json=out/cost.json")
    result.assert_outcomes(passed=1)
    document = read_report(pytester.path / "out" / "cost.json")
    assert document["totals"]["calls"] == 0
    assert document["tests"] == {}
    assert document["run_over_budget"] is False
    leftovers = [path.name for path in (pytester.path / "out").iterdir()]
    assert leftovers == ["cost.json"]


def test_json_layout_one_test_a_line(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm

        MESSAGES = [{"role": "user", "content": "hi"}]

        def test_one(provider):
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)

        def test_two(provider):
            litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
        """
    )
    run(llm_pytester).assert_outcomes(passed=2)
    text = (llm_pytester.path / "cost.json").read_text(encoding="utf-8")
    document = report(llm_pytester)

    lines = text.splitlines()
    assert lines[0] == "{"
    assert lines[1] == '  "schema_version": 1,'
    assert lines[-1] == "}"
    assert text.endswith("}\n")
    # Each test's entry is one line of compact JSON, under the indented "tests" key.
    entries = [line for line in lines if line.startswith('    "test_suite.py::')]
    assert len(entries) == 2
    for line, nodeid in zip(entries, ["test_suite.py::test_one", "test_suite.py::test_two"]):
        key, _, value = line.strip().rstrip(",").partition(": ")
        assert json.loads(key) == nodeid
        assert json.loads(value) == document["tests"][nodeid]
    assert '    "openai/gpt-4o-mini": {"calls": 2, ' in text
    assert json.loads(text) == document


def test_json_keeps_values_of_the_modify_hook(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import decimal

        def pytest_llmcost_modify_report(report):
            report["ci"] = {"job": {"id": 7, "tags": ["a", "b"]}, "run": [1, {"x": None}]}
            report["empty"] = {}
            report["amount"] = decimal.Decimal("0.25")
            report[3] = "three"
        """
    )
    pytester.makepyfile("def test_nothing(): pass")
    pytester.runpytest("-p", "no:cacheprovider", "--llm-cost-json=cost.json").assert_outcomes(
        passed=1
    )
    text = (pytester.path / "cost.json").read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["ci"] == {"job": {"id": 7, "tags": ["a", "b"]}, "run": [1, {"x": None}]}
    assert document["empty"] == {}
    # Values JSON has no type for are written as their str, numbers as keys as strings.
    assert document["amount"] == "0.25"
    assert document["3"] == "three"
    assert '  "ci": {\n    "job": {"id": 7, "tags": ["a", "b"]},\n    "run": [1, {"x": null}]\n  },' in text


def test_schema_is_valid_and_shipped() -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


def _renamed(document: dict[str, Any], section: str, old: str, new: str) -> None:
    document[section][new] = document[section].pop(old)


CHAT = "test_suite.py::test_chat"
MISTAKES: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("renamed total cost", lambda d: _renamed(d, "totals", "cost_usd", "cost")),
    ("misspelled budget key", lambda d: _renamed(d, "budgets", "run_usd", "run_budget_usd")),
    ("missing tests", lambda d: d.pop("tests")),
    ("unknown outcome", lambda d: d["tests"][CHAT].update(outcome="pass")),
    ("unknown phase", lambda d: d["tests"][CHAT]["phases"].update(body=0.1)),
    ("extra test field", lambda d: d["tests"][CHAT].update(cost=0.1)),
    ("string call count", lambda d: d["models"]["openai/gpt-4o-mini"].update(calls="1")),
    ("negative token count", lambda d: d["totals"].update(prompt_tokens=-1)),
    ("marker as run source", lambda d: d["budgets"].update(run_source="marker")),
    ("unknown field outside tests", lambda d: d["outside_tests"].update(cost_eur=0)),
    ("schema version 2", lambda d: d.update(schema_version=2)),
    ("string cost", lambda d: d["tests"][CHAT].update(cost_usd="0.1")),
]


def test_schema_rejects_mistakes(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite="""
        import litellm
        import pytest

        @pytest.mark.llm_budget(0.01)
        def test_chat(provider):
            litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        """
    )
    run(llm_pytester, "--llm-budget=1").assert_outcomes(passed=1)
    document = report(llm_pytester)
    validator = jsonschema.Draft202012Validator(load_schema())

    for name, mistake in MISTAKES:
        broken = copy.deepcopy(document)
        mistake(broken)
        assert not validator.is_valid(broken), name

    # Later versions may add fields at the top level.
    extended = copy.deepcopy(document)
    extended["workers"] = {"gw0": {"calls": 1}}
    assert validator.is_valid(extended)


def test_report_file_permissions_follow_umask(pytester: pytest.Pytester) -> None:
    import os
    import stat

    pytester.makepyfile("def test_nothing(): pass")
    previous = os.umask(0o022)
    try:
        pytester.runpytest("-p", "no:cacheprovider", "--llm-cost-json=cost.json")
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((pytester.path / "cost.json").stat().st_mode)
    assert mode == 0o644
