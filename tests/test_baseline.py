"""The baseline gate: comparing a run with an earlier JSON report, and failing on growth."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal

import pytest

from llmcost_testing import BASE_ARGS, html_tokens, markdown_tables, run
from pytest_llmcost.baseline import (
    CostChange,
    IncreaseLimit,
    RunCosts,
    compare,
    format_percent,
)

CALL = """
import litellm
import pytest

def ask(provider, prompt_tokens, completion_tokens=0):
    provider.usage(prompt_tokens, completion_tokens)
    litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
"""

# gpt-4o-mini prices: 1.5e-07 a prompt token, 6e-07 a completion token.
BEFORE = CALL + """
def test_grows(provider):
    ask(provider, 1000, 500)  # 0.00045

def test_same(provider):
    ask(provider, 100)  # 0.000015

def test_removed(provider):
    ask(provider, 1000)  # 0.00015
"""

AFTER = CALL + """
def test_grows(provider):
    ask(provider, 2000, 1000)  # 0.0009

def test_same(provider):
    ask(provider, 100)  # 0.000015

def test_new(provider):
    ask(provider, 1000)  # 0.00015
"""


def make_baseline(pytester: pytest.Pytester, suite: str = BEFORE) -> None:
    """Run `suite` once and keep its JSON report as base.json."""
    pytester.makepyfile(test_suite=suite)
    run(pytester).assert_outcomes(passed=suite.count("def test_"))
    shutil.copy(pytester.path / "cost.json", pytester.path / "base.json")


def test_unchanged_run_passes(llm_pytester: pytest.Pytester) -> None:
    make_baseline(llm_pytester)
    # The baseline may be the file that this run's report replaces.
    result = run(
        llm_pytester, "--llm-baseline=cost.json", "--llm-baseline-max-increase=0",
        "--llm-baseline-min-usd=0",
    )
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "baseline: cost.json",
            "  total: $0.000615 -> $0.000615, $0.000000 (0.0%), limit +0%",
            "  tests: 0 changed, 0 new, 0 removed, 3 unchanged, 0 over the limit",
            "JSON report: cost.json",
        ]
    )
    assert "FAIL" not in result.stdout.str()


@pytest.mark.parametrize("workers", [None, "2"])
def test_grown_costs_fail(llm_pytester: pytest.Pytester, workers: str | None) -> None:
    make_baseline(llm_pytester)
    llm_pytester.makepyfile(test_suite=AFTER)
    args = ["-n", workers] if workers else []
    result = run(
        llm_pytester, *args, "--llm-baseline=base.json", "--llm-baseline-max-increase=50",
        "--llm-cost-md=cost.md",
    )
    result.assert_outcomes(passed=2, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # Run total: 0.000615 before, 0.0009 + 0.000015 + 0.00015 = 0.001065 now, +73.17%.
    result.stdout.fnmatch_lines(
        [
            "*_ test_grows _*",
            "LLM cost grew over the baseline: $0.00045 -> $0.00090 (+100.0%), limit +50%",
            "*= LLM cost =*",
            "baseline: base.json",
            "  total: $0.000615 -> $0.001065, +$0.000450 (+73.2%), limit +50% EXCEEDED",
            "  tests: 1 changed, 1 new, 1 removed, 1 unchanged, 1 over the limit",
            "  changed tests, largest increase first:",
            "    +$0.00045  +100.0%  $0.00045 -> $0.00090  test_suite.py::test_grows  OVER LIMIT",
            "  new tests:",
            "    $0.00015  test_suite.py::test_new",
            "  removed tests (cost in the baseline):",
            "    $0.00015  test_suite.py::test_removed",
            "JSON report: cost.json",
            "Markdown report: cost.md",
            "FAIL LLM run cost grew over the baseline: $0.000615 -> $0.001065 (+73.2%), "
            "limit +50%",
            "FAILED test_suite.py::test_grows - LLM cost grew over the baseline*",
        ]
    )

    text = (llm_pytester.path / "cost.md").read_text(encoding="utf-8")
    assert html_tokens(text) == []
    assert "Baseline: `base.json`." in text.splitlines()
    assert (
        "**FAIL** LLM run cost grew over the baseline: \\$0.000615 -\\> \\$0.001065 (+73.2%), "
        "limit +50%" in text.splitlines()
    )
    tables = markdown_tables(text)
    changed = tables["Changed tests, largest increase first"]
    assert [cell.text for cell in changed[1]] == [
        "test_suite.py::test_grows", "$0.00045", "$0.00090", "+$0.00045", "+100.0%",
        "██████████", "exceeded",
    ]
    assert [row[0].text for row in tables["New tests"][1:]] == ["test_suite.py::test_new"]
    assert [row[0].text for row in tables["Removed tests"][1:]] == ["test_suite.py::test_removed"]


def test_total_growth_alone_fails_run(llm_pytester: pytest.Pytester) -> None:
    make_baseline(llm_pytester)
    # No test grew, but a new test raises the total from 0.000615 to 0.000765 (+24.4%).
    llm_pytester.makepyfile(
        test_suite=BEFORE + "\ndef test_new(provider):\n    ask(provider, 1000)\n"
    )
    result = run(llm_pytester, "--llm-baseline=base.json", "--llm-baseline-max-increase=20")
    result.assert_outcomes(passed=4)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["FAIL LLM run cost grew over the baseline: $0.000615 -> $0.000765 (+24.4%), limit +20%"]
    )

    within = run(llm_pytester, "--llm-baseline=base.json", "--llm-baseline-max-increase=25")
    within.assert_outcomes(passed=4)
    assert within.ret == pytest.ExitCode.OK


def test_min_usd_spares_small_increase(llm_pytester: pytest.Pytester) -> None:
    make_baseline(llm_pytester, CALL + "\ndef test_tiny(provider):\n    ask(provider, 100)\n")
    # 0.000015 -> 0.00003 doubles the cost, but grows by only $0.000015.
    llm_pytester.makepyfile(
        test_suite=CALL + "\ndef test_tiny(provider):\n    ask(provider, 200)\n"
    )
    spared = run(llm_pytester, "--llm-baseline=base.json", "--llm-baseline-max-increase=10")
    spared.assert_outcomes(passed=1)
    assert spared.ret == pytest.ExitCode.OK
    spared.stdout.fnmatch_lines(
        ["    +$0.000015  +100.0%  $0.000015 -> $0.000030  test_suite.py::test_tiny"]
    )

    strict = run(
        llm_pytester, "--llm-baseline=base.json", "--llm-baseline-max-increase=10",
        "--llm-baseline-min-usd=0.00001",
    )
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(
        [
            "LLM cost grew over the baseline: $0.000015 -> $0.000030 (+100.0%), limit +10%",
            "FAIL LLM run cost grew over the baseline: *",
        ]
    )


def test_baseline_from_ini(llm_pytester: pytest.Pytester) -> None:
    make_baseline(llm_pytester)
    llm_pytester.makepyfile(test_suite=AFTER)
    llm_pytester.makeini(
        "[pytest]\nllm_baseline = base.json\nllm_baseline_max_increase = 150%\n"
        "llm_baseline_min_usd = 0.001\n"
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["  total: * (+73.2%), limit +150%"])

    without_limit = run(llm_pytester, "--llm-baseline-min-usd=0", "--llm-baseline-max-increase=99")
    without_limit.assert_outcomes(passed=2, failed=1)


def test_report_only_without_limit(llm_pytester: pytest.Pytester) -> None:
    make_baseline(llm_pytester)
    llm_pytester.makepyfile(test_suite=AFTER)
    result = run(llm_pytester, "--llm-baseline=base.json")
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "  total: $0.000615 -> $0.001065, +$0.000450 (+73.2%)",
            "  tests: 1 changed, 1 new, 1 removed, 1 unchanged",
        ]
    )


def test_missing_baseline_is_usage_error(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_suite=AFTER)
    result = llm_pytester.runpytest(*BASE_ARGS, "--llm-baseline=missing.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: baseline report 'missing.json' from option --llm-baseline not found: pass "
            "the path of a report written by --llm-cost-json, or --llm-baseline-missing=ok to "
            "run without a baseline"
        ]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("source", ["cli", "ini"])
def test_missing_baseline_allowed(llm_pytester: pytest.Pytester, source: str) -> None:
    llm_pytester.makepyfile(test_suite=AFTER)
    args = ["--llm-baseline=missing.json", "--llm-baseline-max-increase=10", "--llm-cost-md=c.md"]
    if source == "ini":
        llm_pytester.makeini("[pytest]\nllm_baseline_missing = ok\n")
    else:
        args.append("--llm-baseline-missing=ok")
    result = run(llm_pytester, *args)
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["baseline: missing.json not found, nothing to compare (--llm-baseline-missing=ok)"]
    )
    text = (llm_pytester.path / "c.md").read_text(encoding="utf-8")
    assert (
        "Baseline `missing.json` not found, so there is nothing to compare "
        "(`--llm-baseline-missing=ok`)." in text.splitlines()
    )


def valid_report() -> dict[str, object]:
    return {
        "schema_version": 1,
        "totals": {"cost_usd": 0.001},
        "tests": {"test_suite.py::test_grows": {"cost_usd": 0.001}},
    }


def with_changes(**changes: object) -> str:
    document = valid_report()
    document.update(changes)
    return json.dumps(document)


MALFORMED = [
    ("{", "not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
    ("", "not valid JSON (Expecting value at line 1 column 1)"),
    ("[1, 2]", "expected a JSON object, got an array"),
    ('{"totals": {}, "tests": {}}', "the field schema_version is missing"),
    (with_changes(schema_version=2), "schema_version 2 is not supported: this version of "
     "pytest-llmcost reads schema version 1"),
    (with_changes(schema_version="1"), 'schema_version the string "1" is not supported'),
    (with_changes(schema_version=True), "schema_version true is not supported"),
    (with_changes(totals=[]), "field totals must be an object, got an array"),
    (with_changes(totals={"cost": 0.001}), "the field totals.cost_usd is missing"),
    (with_changes(totals={"cost_usd": "0.001"}),
     'field totals.cost_usd must be a non-negative number of US dollars, got the string "0.001"'),
    (with_changes(totals={"cost_usd": -1}),
     "field totals.cost_usd must be a non-negative number of US dollars, got -1"),
    ('{"schema_version": 1, "totals": {"cost_usd": NaN}, "tests": {}}',
     "field totals.cost_usd must be a non-negative number of US dollars, got NaN"),
    (with_changes(tests=[]), "field tests must be an object, got an array"),
    (with_changes(tests={"a::b": 0.5}), 'field tests["a::b"] must be an object, got a number'),
    (with_changes(tests={"a::b": {"cost_usd": None}}),
     'field tests["a::b"].cost_usd must be a non-negative number of US dollars, got null'),
]


@pytest.mark.parametrize(("content", "message"), MALFORMED)
def test_malformed_baseline_is_usage_error(
    pytester: pytest.Pytester, content: str, message: str
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    (pytester.path / "base.json").write_text(content, encoding="utf-8")
    # A malformed file is an error even when a missing one is allowed.
    result = pytester.runpytest(*BASE_ARGS, "--llm-baseline=base.json", "--llm-baseline-missing=ok")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = f"ERROR: invalid baseline report 'base.json' from option --llm-baseline: {message}"
    assert [line for line in result.stderr.lines if line.startswith(expected)] != []
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_unreadable_baseline_is_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    (pytester.path / "base.json").mkdir()
    (pytester.path / "binary.json").write_bytes(b"\xff\xfe{}")
    directory = pytester.runpytest(*BASE_ARGS, "--llm-baseline=base.json")
    assert directory.ret == pytest.ExitCode.USAGE_ERROR
    directory.stderr.fnmatch_lines(
        ["ERROR: invalid baseline report 'base.json' *: cannot read the file: Is a directory"]
    )
    binary = pytester.runpytest(*BASE_ARGS, "--llm-baseline=binary.json")
    assert binary.ret == pytest.ExitCode.USAGE_ERROR
    binary.stderr.fnmatch_lines(["ERROR: invalid baseline report 'binary.json' *: not a UTF-8 *"])


def test_report_with_added_fields_is_a_baseline(pytester: pytest.Pytester) -> None:
    document = valid_report()
    document["added_in_a_later_version"] = {"anything": True}
    (pytester.path / "base.json").write_text(json.dumps(document), encoding="utf-8")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*BASE_ARGS, "--llm-baseline=base.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "  total: $0.0010 -> $0.0000, -$0.0010 (-100.0%)",
            "  tests: 0 changed, 0 new, 1 removed, 0 unchanged",
        ]
    )


# -- the pure comparison --------------------------------------------------------------------


def costs(total: str, **tests: str) -> RunCosts:
    return RunCosts(Decimal(total), {name: Decimal(cost) for name, cost in tests.items()})


def test_compare_orders_changes() -> None:
    old = costs("0.010", up_a="0.001", up_b="0.002", down="0.003", same="0.004", gone="0.0005")
    new = costs("0.011", up_a="0.003", up_b="0.004", down="0.001", same="0.004", fresh="0.0001")
    comparison = compare(old, new)
    assert [change.name for change in comparison.changed] == ["up_a", "up_b", "down"]
    assert [test.nodeid for test in comparison.added] == ["fresh"]
    assert [test.nodeid for test in comparison.removed] == ["gone"]
    assert comparison.unchanged == 1
    assert comparison.total == CostChange("total", Decimal("0.010"), Decimal("0.011"))


@pytest.mark.parametrize(
    ("old", "new", "exceeded"),
    [
        ("0.01", "0.011", False),  # exactly +10%
        ("0.01", "0.0110001", True),  # just over +10%
        ("0.0001", "0.0002", False),  # +100%, but by exactly the minimum amount
        ("0.0001", "0.00020001", True),  # +100.01%, just over the minimum amount
        ("0", "0.0002", True),  # growth from nothing
        ("0", "0.0001", False),  # growth from nothing, by only min_usd
        ("0.003", "0.001", False),  # a decrease
    ],
)
def test_limit_boundaries(old: str, new: str, exceeded: bool) -> None:
    limit = IncreaseLimit(Decimal(10), Decimal("0.0001"))
    change = CostChange("t", Decimal(old), Decimal(new))
    assert limit.is_exceeded(change) is exceeded
    assert (limit.failure_of_test(change) is not None) is exceeded


def test_format_percent_rounds_away_from_zero() -> None:
    assert format_percent(Decimal("10.001")) == "+10.1%"
    assert format_percent(Decimal("-3.01")) == "-3.1%"
    assert format_percent(Decimal("0")) == "0.0%"
    assert format_percent(Decimal("1234.5")) == "+1,234.5%"
    assert format_percent(None) == "new spend"
