"""The JSON report (schema version 1) and its atomic writing."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from ..budgets import Budget
from ..money import to_json_number
from ..spend import ModelSpend, Spend
from .files import write_atomically
from .summary import RunSummary, TestSummary

SCHEMA_VERSION = 1
# The JSON Schema (draft 2020-12) of this version, shipped inside the package.
SCHEMA_RESOURCE = "schema-v1.json"


def _budget_amount(budget: Budget | None) -> float | None:
    return to_json_number(budget.amount) if budget is not None else None


def _models(models: dict[str, ModelSpend]) -> dict[str, Any]:
    return {
        name: {
            "calls": model.calls,
            "cost_usd": to_json_number(model.cost),
            "prompt_tokens": model.prompt_tokens,
            "completion_tokens": model.completion_tokens,
        }
        for name, model in sorted(models.items())
    }


def _totals(spend: Spend) -> dict[str, Any]:
    return {
        "cost_usd": to_json_number(spend.cost),
        "calls": spend.calls,
        "failed_calls": spend.failed_calls,
        "unpriced_calls": spend.unpriced_calls,
        "unaccounted_calls": spend.unaccounted_calls,
        "cache_hits": spend.cache_hits,
        "refused_calls": spend.refused_calls,
        "zero_usage_calls": spend.zero_usage_calls,
        "hook_priced_calls": spend.hook_priced_calls,
        "proxy_calls": spend.proxy_calls,
        "prompt_tokens": spend.prompt_tokens,
        "completion_tokens": spend.completion_tokens,
    }


def _test(test: TestSummary) -> dict[str, Any]:
    spend = test.spend
    budget = test.budget
    return {
        "outcome": test.outcome,
        **_totals(spend),
        "budget_usd": _budget_amount(budget),
        "budget_source": budget.source if budget is not None else None,
        "over_budget": test.violation is not None,
        "phases": {phase: to_json_number(cost) for phase, cost in sorted(spend.phases.items())},
        "models": _models(spend.models),
    }


class _TestEntries(Mapping[str, dict[str, Any]]):
    """The report's "tests" object, whose entries are built when they are read.

    Written by `write_indented`, the entries of 100,000 calls are never all in
    memory at once, which lowers the peak memory and the work of the garbage
    collector.
    """

    def __init__(self, tests: dict[str, TestSummary]) -> None:
        self._tests = tests

    def __getitem__(self, nodeid: str) -> dict[str, Any]:
        return _test(self._tests[nodeid])

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._tests))

    def __len__(self) -> int:
        return len(self._tests)


def build_document(summary: RunSummary, entries_on_demand: bool = False) -> dict[str, Any]:
    """Build the JSON report; fields may be added in later versions, never renamed.

    With `entries_on_demand`, "tests" is a read-only mapping that builds each
    entry when it is read, for a document that is written and not changed.
    """
    run_violation = summary.run_violation
    tests: Mapping[str, dict[str, Any]]
    if entries_on_demand:
        tests = _TestEntries(summary.tests)
    else:
        tests = {nodeid: _test(test) for nodeid, test in sorted(summary.tests.items())}
    return {
        "schema_version": SCHEMA_VERSION,
        "plugin_version": summary.plugin_version,
        "litellm_version": summary.litellm_version,
        "price_map": summary.price_map,
        "complete": summary.complete,
        "budgets": {
            "run_usd": _budget_amount(summary.run_budget),
            "run_source": summary.run_budget.source if summary.run_budget else None,
            "test_usd": _budget_amount(summary.test_budget),
            "test_source": summary.test_budget.source if summary.test_budget else None,
        },
        "totals": _totals(summary.run),
        "run_over_budget": run_violation is not None,
        "run_overshoot_usd": (
            to_json_number(run_violation.overshoot) if run_violation is not None else 0.0
        ),
        "models": _models(summary.run.models),
        "tests": tests,
        "outside_tests": {
            "cost_usd": to_json_number(summary.outside.cost),
            "calls": summary.outside.calls,
            "failed_calls": summary.outside.failed_calls,
            "unpriced_calls": summary.outside.unpriced_calls,
            "unaccounted_calls": summary.outside.unaccounted_calls,
            "refused_calls": summary.outside.refused_calls,
            "proxy_calls": summary.outside.proxy_calls,
            "prompt_tokens": summary.outside.prompt_tokens,
            "completion_tokens": summary.outside.completion_tokens,
            "models": _models(summary.outside.models),
        },
    }


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Write a report document as indented JSON, atomically.

    The top two levels are indented; deeper objects, such as each test's entry,
    take one line each (see `write_indented`).
    """

    def write(stream: TextIO) -> None:
        write_indented(stream, document)
        stream.write("\n")

    write_atomically(path, write)


def write_indented(stream: TextIO, value: Any, level: int = 0) -> None:
    """Write `value` as JSON, objects and arrays above `_EXPANDED_LEVELS` one item a line.

    `json.dump` with `indent` runs the pure-Python encoder, which for 100,000
    calls took 1.4 to 2 s of the report. Below the expanded levels this writes
    each item with one call of the C encoder (`json.dumps` without `indent`),
    and writes it to the stream at once, so the whole text is never held in
    memory. Values that JSON cannot represent, such as ones a
    pytest_llmcost_modify_report hook added, are written as their `str`.
    """
    if level >= _EXPANDED_LEVELS or not isinstance(value, (Mapping, list, tuple)):
        stream.write(_ENCODER.encode(value))
        return
    if not value:
        stream.write("{}" if isinstance(value, Mapping) else "[]")
        return
    inner = "\n" + "  " * (level + 1)
    compact_items = level + 1 >= _EXPANDED_LEVELS
    if isinstance(value, Mapping):
        stream.write("{")
        for index, (key, item) in enumerate(value.items()):
            stream.write(inner if index == 0 else "," + inner)
            if compact_items:
                # `"key": item` in one call: the encoder writes the key as JSON does.
                stream.write(_ENCODER.encode({key: item})[1:-1])
            else:
                stream.write(_ENCODER.encode({key: None})[1:-7])  # `"key": null` to `"key"`
                stream.write(": ")
                write_indented(stream, item, level + 1)
        stream.write("\n" + "  " * level + "}")
    else:
        stream.write("[")
        for index, item in enumerate(value):
            stream.write(inner if index == 0 else "," + inner)
            write_indented(stream, item, level + 1)
        stream.write("\n" + "  " * level + "]")


# Levels of nesting written one item a line: the document's keys, and the items of
# its objects, such as each test of "tests" and each model of "models".
_EXPANDED_LEVELS = 2
# The C encoder's settings of json.dumps(value, default=str).
_ENCODER = json.JSONEncoder(default=str)


def write_json(path: Path, summary: RunSummary) -> None:
    """Write the JSON report of `summary`, building each test's entry as it is written."""
    write_document(path, build_document(summary, entries_on_demand=True))


def load_schema() -> dict[str, Any]:
    """Return the JSON Schema that every report of `SCHEMA_VERSION` validates against."""
    resource = resources.files("pytest_llmcost.report").joinpath(SCHEMA_RESOURCE)
    text = resource.read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
