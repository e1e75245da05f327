"""The Markdown report: its content, hostile test ids, and the GitHub job summary."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from llmcost_testing import BASE_ARGS, github_render, html_tokens, markdown_tables, run
from pytest_llmcost.report.markdown import code

SUITE = """
import litellm
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]

@pytest.mark.llm_budget(0.001)
def test_chat(provider):
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES)
    provider.usage(2000, 100)
    litellm.completion(model="anthropic/claude-haiku-4-5", messages=MESSAGES)

def test_small(provider):
    provider.usage(100, 10)
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES)

@pytest.mark.llm_budget(0.5)
def test_budget_only():
    pass
"""

# gpt-4o-mini: 1000 * 1.5e-07 + 500 * 6e-07 = 0.00045 and 100 * 1.5e-07 + 10 * 6e-07 = 0.000021
# claude-haiku-4-5: 2000 * 1e-06 + 100 * 5e-06 = 0.0025
# test_chat: 0.00295, over its budget of 0.001 by 0.00195; the run: 0.002971, 5% of 0.05
EXPECTED = """\
## LLM cost

**Total:** \\$0.002971 in 3 calls, 3,100 prompt + 610 completion tokens.
Prices from the bundled price map (LiteLLM {litellm}).

### Budgets

| budget | limit | spent | used | over budget |  |
|---|---:|---:|---:|---|---|
| run (cli) | \\$0.0500 | \\$0.002971 | 5% | no | ▋░░░░░░░░░ |
| 1 test (marker) | \\$0.0010 | up to \\$0.00295 | 295% | 1 of 1 | ██████████ |
| 1 test (cli) | \\$0.0100 | up to \\$0.000021 | 0% | none | ▏░░░░░░░░░ |
| 1 test (marker) | \\$0.5000 | up to \\$0.0000 | 0% | none | ░░░░░░░░░░ |

### Cost by model

| model | calls | cost | prompt tokens | completion tokens |  |
|---|---:|---:|---:|---:|---|
| `anthropic/claude-haiku-4-5` | 1 | \\$0.002500 | 2,000 | 100 | ██████████ |
| `openai/gpt-4o-mini` | 2 | \\$0.000471 | 1,100 | 510 | █▉ |

### Costliest tests (top 2)

| test | outcome | calls | cost | budget |  |
|---|---|---:|---:|---|---|
| `test_suite.py::test_chat` | failed | 2 | \\$0.002950 | \\$0.0010 (marker) **over** | ██████████ |
| `test_suite.py::test_small` | passed | 1 | \\$0.000021 | \\$0.0100 (cli) | ▏ |

### Budget failures

| test | spent | budget | over by |  |
|---|---:|---:|---:|---|
| `test_suite.py::test_chat` | \\$0.00295 | \\$0.0010 (marker) | \\$0.00195 | ██████████ |
"""


@pytest.mark.parametrize("workers", [None, "2"])
def test_markdown_report(llm_pytester: pytest.Pytester, workers: str | None) -> None:
    llm_pytester.makepyfile(test_suite=SUITE)
    args = ["-n", workers] if workers else []
    result = run(
        llm_pytester, *args, "--llm-budget=0.05", "--llm-test-budget=0.01",
        "--llm-cost-md=out/cost.md",
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["JSON report: cost.json", "Markdown report: out*cost.md"])

    text = (llm_pytester.path / "out" / "cost.md").read_text(encoding="utf-8")
    assert text == EXPECTED.format(litellm=version("litellm"))
    assert html_tokens(text) == []
    tables = markdown_tables(text)
    assert [len(rows) for rows in tables.values()] == [5, 3, 3, 2]
    assert tables["Costliest tests (top 2)"][1][0].codes == ["test_suite.py::test_chat"]
    leftovers = sorted(path.name for path in (llm_pytester.path / "out").iterdir())
    assert leftovers == ["cost.md"]


def test_markdown_respects_top(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_suite=SUITE)
    result = run(llm_pytester, "--llm-cost-md=cost.md", "--llm-cost-top=1")
    result.assert_outcomes(passed=2, failed=1)
    tables = markdown_tables((llm_pytester.path / "cost.md").read_text(encoding="utf-8"))
    costliest = tables["Costliest tests (top 1)"]
    assert [row[0].text for row in costliest] == ["test", "test_suite.py::test_chat"]

    hidden = run(llm_pytester, "--llm-cost-md=cost.md", "--llm-cost-top=0")
    hidden.assert_outcomes(passed=2, failed=1)
    assert "Costliest" not in (llm_pytester.path / "cost.md").read_text(encoding="utf-8")


def test_markdown_run_over_budget(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_suite=SUITE)
    result = run(llm_pytester, "--llm-budget=0.001", "--llm-cost-md=cost.md")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = (llm_pytester.path / "cost.md").read_text(encoding="utf-8")
    message = "LLM run budget exceeded: spent \\$0.00295 of \\$0.0010 (cli) in 2 calls"
    assert f"**FAIL** {message}" in text.splitlines()
    assert f"**Run:** {message}" in text.splitlines()
    budgets = markdown_tables(text)["Budgets"]
    assert [cell.text for cell in budgets[1]] == [
        "run (cli)", "$0.0010", "$0.00295", "295%", "yes, by $0.00195", "██████████",
    ]


HOSTILE_IDS = [
    "a|b",
    "tick`s",
    "``fenced``",
    "<script>alert(1)</script>",
    "x &amp; y <b>",
    "*bold* _em_ [link](https://example.com)",
    "line\nbreak | <i>",
    " spaced ",
    "odd\\|backslashes",
    "even\\\\|backslashes",
]


def test_hostile_ids_stay_in_code(llm_pytester: pytest.Pytester) -> None:
    # Without the escaping that pytest applies to ids by default, a newline reaches the node id.
    llm_pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "disable_test_id_escaping_and_forfeit_all_rights_to_community_support = true\n"
    )
    llm_pytester.makepyfile(
        test_suite=f"""
        import litellm
        import pytest

        @pytest.mark.parametrize("tokens", range({len(HOSTILE_IDS)}), ids={HOSTILE_IDS!r})
        @pytest.mark.llm_budget(0.0001)
        def test_hostile(provider, tokens):
            provider.usage(1000 + tokens, 0)
            litellm.completion(model="gpt-4o-mini",
                               messages=[{{"role": "user", "content": "hi"}}])
        """
    )
    result = run(llm_pytester, "--llm-cost-md=cost.md")
    result.assert_outcomes(failed=len(HOSTILE_IDS))
    text = (llm_pytester.path / "cost.md").read_text(encoding="utf-8")

    assert html_tokens(text) == []
    tables = markdown_tables(text)
    # Costs grow with the parameter, so the costliest table lists the ids in reverse.
    expected = [f"test_suite.py::test_hostile[{id_}]".replace("\n", "\\n") for id_ in HOSTILE_IDS]
    costliest = tables[f"Costliest tests (top {len(HOSTILE_IDS)})"][1:]
    assert [row[0].text for row in costliest] == expected[::-1]
    assert all(len(row) == 6 for row in costliest)
    failures = tables["Budget failures"][1:]
    assert sorted(row[0].text for row in failures) == sorted(expected)
    assert all(len(row) == 5 for row in failures)
    # Only code spans, and the pipes between them, make up a test id's cell.
    for row in costliest + failures:
        assert row[0].token_types <= {"code_inline", "text"}
        assert set(row[0].plain) <= {"|"}

    page = github_render(text)
    assert "raw HTML omitted" not in page.html
    github_costliest, github_failures = page.tables[2][1:], page.tables[3][1:]
    assert [row[0] for row in github_costliest] == expected[::-1]
    assert all(len(row) == 6 for row in github_costliest)
    assert sorted(row[0] for row in github_failures) == sorted(expected)
    assert all(len(row) == 5 for row in github_failures)


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("a|b", "`a\\|b`"),
        ("a\\\\|b", "`a\\\\\\|b`"),
        # A pipe after an odd number of backslashes goes between two code spans.
        ("a\\|b", "`a\\`\\|`b`"),
        ("a\\|", "`a\\`\\|"),
        ("`x`", "`` `x` ``"),
        ("new\nline", "`new\\nline`"),
    ],
)
def test_code_span_escaping(text: str, markdown: str) -> None:
    assert code(text) == markdown


def test_step_summary_appended(
    llm_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = llm_pytester.path / "step-summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    llm_pytester.makepyfile(test_suite=SUITE)

    result = run(llm_pytester, "--llm-cost-md=cost.md")
    result.assert_outcomes(passed=2, failed=1)
    report = (llm_pytester.path / "cost.md").read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8") == "# Earlier step\n\n" + report

    # Without --llm-cost-md the job summary still gets the report.
    again = run(llm_pytester)
    again.assert_outcomes(passed=2, failed=1)
    assert summary.read_text(encoding="utf-8") == "# Earlier step\n\n" + report + "\n" + report


def test_step_summary_off(llm_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = llm_pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    llm_pytester.makepyfile(test_suite=SUITE)

    result = run(llm_pytester, "--llm-cost-md=none")
    result.assert_outcomes(passed=2, failed=1)
    assert not summary.exists()
    assert "Markdown report" not in result.stdout.str()

    llm_pytester.makeini("[pytest]\nllm_cost_md = none\n")
    from_ini = run(llm_pytester)
    from_ini.assert_outcomes(passed=2, failed=1)
    assert not summary.exists()


def test_step_summary_skips_runs_without_calls(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*BASE_ARGS, "--llm-budget=1")
    result.assert_outcomes(passed=1)
    assert not summary.exists()


def test_markdown_from_ini_without_calls(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_cost_md = reports/llm.md\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*BASE_ARGS)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["Markdown report: *reports*llm.md"])
    text = (pytester.path / "reports" / "llm.md").read_text(encoding="utf-8")
    total = "**Total:** \\$0.0000 in 0 calls, 0 prompt + 0 completion tokens."
    assert text.startswith(f"## LLM cost\n\n{total}\n")
    assert markdown_tables(text) == {}


def test_unwritable_markdown_path_warns(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_suite=SUITE)
    (llm_pytester.path / "taken.md").mkdir()
    result = run(llm_pytester, "--llm-cost-md=taken.md")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*LLMCostWarning: pytest-llmcost could not write the Markdown report to 'taken.md': *"]
    )
    assert "Markdown report: taken.md" not in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str()
