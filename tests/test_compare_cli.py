"""`python -m pytest_llmcost compare`: output and exit statuses, in a real subprocess."""

from __future__ import annotations

import shutil
import sys

import pytest

from llmcost_testing import html_tokens, markdown_tables, run
from test_baseline import AFTER, BEFORE


def compare(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "pytest_llmcost", "compare", *args)


@pytest.fixture
def reports(llm_pytester: pytest.Pytester) -> pytest.Pytester:
    """A directory with old.json and new.json, written by two runs of the plugin."""
    llm_pytester.makepyfile(test_suite=BEFORE)
    run(llm_pytester).assert_outcomes(passed=3)
    shutil.move(llm_pytester.path / "cost.json", llm_pytester.path / "old.json")
    llm_pytester.makepyfile(test_suite=AFTER)
    run(llm_pytester).assert_outcomes(passed=3)
    shutil.move(llm_pytester.path / "cost.json", llm_pytester.path / "new.json")
    return llm_pytester


def test_compare_output(reports: pytest.Pytester) -> None:
    result = compare(reports, "old.json", "new.json")
    assert result.ret == 0
    assert result.outlines == [
        "LLM cost of new.json compared with the baseline old.json",
        "  total: $0.000615 -> $0.001065, +$0.000450 (+73.2%)",
        "  tests: 1 changed, 1 new, 1 removed, 1 unchanged",
        "  changed tests, largest increase first:",
        "    +$0.00045  +100.0%  $0.00045 -> $0.00090  test_suite.py::test_grows",
        "  new tests:",
        "    $0.00015  test_suite.py::test_new",
        "  removed tests (cost in the baseline):",
        "    $0.00015  test_suite.py::test_removed",
    ]

    top_zero = compare(reports, "old.json", "new.json", "--top=0")
    assert top_zero.outlines == [
        "LLM cost of new.json compared with the baseline old.json",
        "  total: $0.000615 -> $0.001065, +$0.000450 (+73.2%)",
        "  tests: 1 changed, 1 new, 1 removed, 1 unchanged",
    ]
    # Tests over the limit are listed even with --top=0.
    gated = compare(reports, "old.json", "new.json", "--top=0", "--max-increase=10")
    gated.stdout.fnmatch_lines(["*test_suite.py::test_grows  OVER LIMIT"])


def test_compare_gate(reports: pytest.Pytester) -> None:
    failing = compare(reports, "old.json", "new.json", "--max-increase", "50")
    assert failing.ret == 1
    failing.stdout.fnmatch_lines(
        [
            "  total: $0.000615 -> $0.001065, +$0.000450 (+73.2%), limit +50% EXCEEDED",
            "  tests: 1 changed, 1 new, 1 removed, 1 unchanged, 1 over the limit",
            "    +$0.00045  +100.0%  $0.00045 -> $0.00090  test_suite.py::test_grows  OVER LIMIT",
            "FAIL LLM run cost grew over the baseline: $0.000615 -> $0.001065 (+73.2%), "
            "limit +50%",
            "FAIL test_suite.py::test_grows: LLM cost grew over the baseline: $0.00045 -> "
            "$0.00090 (+100.0%), limit +50%",
        ]
    )

    tests_only = compare(reports, "old.json", "new.json", "--max-increase=80")
    assert tests_only.ret == 1
    assert [line for line in tests_only.outlines if line.startswith("FAIL")] == [
        "FAIL test_suite.py::test_grows: LLM cost grew over the baseline: $0.00045 -> "
        "$0.00090 (+100.0%), limit +80%"
    ]

    spared = compare(reports, "old.json", "new.json", "--max-increase=80", "--min-usd=0.0005")
    assert spared.ret == 0
    assert "FAIL" not in spared.stdout.str()

    unchanged = compare(reports, "new.json", "new.json", "--max-increase=0", "--min-usd=0")
    assert unchanged.ret == 0

    result = compare(reports, "old.json", "new.json", "--markdown", "--max-increase=50")
    assert result.ret == 1
    text = result.stdout.str()
    assert result.outlines[:6] == [
        "## LLM cost compared with the baseline",
        "",
        "Baseline `old.json`, this run `new.json`.",
        "",
        "**Total:** \\$0.000615 → \\$0.001065, +\\$0.000450 (+73.2%), limit +50%: **exceeded**.",
        "Tests: 1 changed, 1 new, 1 removed, 1 unchanged, 1 over the limit.",
    ]
    assert html_tokens(text) == []
    tables = markdown_tables(text)
    assert list(tables) == ["Changed tests, largest increase first", "New tests", "Removed tests"]
    assert [cell.text for cell in tables["Changed tests, largest increase first"][1]] == [
        "test_suite.py::test_grows", "$0.00045", "$0.00090", "+$0.00045", "+100.0%",
        "██████████", "exceeded",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "the following arguments are required: OLD.json, NEW.json"),
        (("old.json",), "the following arguments are required: NEW.json"),
        (("old.json", "missing.json"), "NEW report 'missing.json' not found"),
        (("bad.json", "old.json"),
         "invalid OLD report 'bad.json': not valid JSON (Expecting value"),
        (("old.json", "old.json", "--max-increase=ten"),
         "argument --max-increase: invalid value 'ten': expected a percentage that is zero"),
        (("old.json", "old.json", "--min-usd=$1"),
         "argument --min-usd: invalid value '$1': expected an amount of US dollars"),
        (("old.json", "old.json", "--top=-1"), "argument --top: invalid value '-1'"),
    ],
)
def test_compare_usage_errors(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    (pytester.path / "old.json").write_text(
        '{"schema_version": 1, "totals": {"cost_usd": 0.0}, "tests": {}}', encoding="utf-8"
    )
    (pytester.path / "bad.json").write_text("not json", encoding="utf-8")
    result = compare(pytester, *args)
    assert result.ret == 2
    result.stderr.fnmatch_lines(
        [
            "usage: python -m pytest_llmcost compare *",
            f"python -m pytest_llmcost compare: error: {message}*",
        ]
    )


def test_command_required(pytester: pytest.Pytester) -> None:
    result = pytester.run(sys.executable, "-m", "pytest_llmcost")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*error: the following arguments are required: COMMAND"])


def test_compare_imports_neither_pytest_nor_litellm(pytester: pytest.Pytester) -> None:
    (pytester.path / "old.json").write_text(
        '{"schema_version": 1, "totals": {"cost_usd": 0.0}, "tests": {}}', encoding="utf-8"
    )
    script = (
        "import sys\n"
        "from pytest_llmcost.cli import main\n"
        "status = main(['compare', 'old.json', 'old.json'])\n"
        "heavy = sorted({name.split('.')[0] for name in sys.modules}\n"
        "               & {'pytest', '_pytest', 'litellm', 'pluggy'})\n"
        "print('status', status, 'imported', heavy)\n"
    )
    result = pytester.run(sys.executable, "-c", script)
    result.stdout.fnmatch_lines(["status 0 imported []"])
