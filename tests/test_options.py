"""Every option through the command line and the ini file, and every kind of bad value."""

from __future__ import annotations

import os

import pytest

from llmcost_testing import BASE_ARGS, read_report, report, run, test_entry

CALL = """
import litellm
import pytest

def ask(model="gpt-4o-mini"):
    litellm.completion(model=model, messages=[{"role": "user", "content": "hi"}])
"""

BAD_BUDGETS = [
    ("abc", "write the amount without a currency sign or unit, for example 0.05"),
    ("-1", "a budget cannot be negative; use 0 to allow no spending"),
    ("nan", "the amount must be a finite number such as 0.05"),
    ("inf", "the amount must be a finite number such as 0.05"),
    ("1e999", "is more than the maximum of 1,000,000"),
    ("$0.05", "write the amount without a currency sign or unit, for example 0.05"),
    ("0.05USD", "write the amount without a currency sign or unit, for example 0.05"),
    ("", "give an amount such as 0.05, or remove the setting"),
]


@pytest.mark.parametrize("option", ["--llm-budget", "--llm-test-budget"])
@pytest.mark.parametrize(("value", "hint"), BAD_BUDGETS)
def test_bad_budget_option(
    pytester: pytest.Pytester, option: str, value: str, hint: str
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*BASE_ARGS, f"{option}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*error: argument {option}: invalid budget {value!r} from option {option}: *{hint}*"]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("key", ["llm_budget", "llm_test_budget"])
@pytest.mark.parametrize(("value", "hint"), [bad for bad in BAD_BUDGETS if bad[0]])
def test_bad_budget_ini(pytester: pytest.Pytester, key: str, value: str, hint: str) -> None:
    pytester.makeini(f"[pytest]\n{key} = {value}\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*BASE_ARGS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: invalid budget {value!r} from ini option {key}: *{hint}*"]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--llm-unpriced", "ignore", "expected 'warn' or 'fail'"),
        ("--llm-cost-top", "-1", "the number of tests cannot be negative; use 0 to hide the list"),
        ("--llm-cost-top", "ten", "expected a whole number of tests, such as 10"),
        ("--llm-price-map", "latest", "expected 'bundled' (the price map shipped with LiteLLM)"),
        ("--llm-settle-timeout", "0", "expected a positive number of seconds, such as 10"),
        ("--llm-settle-timeout", "soon", "expected a positive number of seconds, such as 10"),
        ("--llm-cost-json", "", "expected a file path"),
        ("--llm-budget-mode", "halt",
         "expected 'stop' (reject calls over budget before they are sent) or 'report'"),
        ("--llm-cost-md", "", "expected a file path, or 'none' to write no Markdown report"),
        ("--llm-baseline", "", "expected a file path"),
        ("--llm-baseline-max-increase", "-5", "expected a percentage that is zero or more"),
        ("--llm-baseline-max-increase", "ten", "expected a percentage that is zero or more"),
        ("--llm-baseline-min-usd", "$0.01", "expected an amount of US dollars that is zero or"),
        ("--llm-baseline-min-usd", "nan", "expected an amount of US dollars that is zero or"),
        ("--llm-baseline-missing", "maybe", "expected 'error' or 'ok'"),
        ("--llm-proxy-log", "", "expected a file path"),
    ],
)
def test_bad_option_values(
    pytester: pytest.Pytester, option: str, value: str, message: str
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*BASE_ARGS, f"{option}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*invalid value {value!r} from option {option}: {message}*"])

    key = option.lstrip("-").replace("-", "_")
    pytester.makeini(f"[pytest]\n{key} = {value}\n")
    from_ini = pytester.runpytest(*BASE_ARGS)
    if value:
        assert from_ini.ret == pytest.ExitCode.USAGE_ERROR
        from_ini.stderr.fnmatch_lines([f"ERROR: invalid value {value!r} from ini option {key}: *"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("llm_budget()", "expected one amount, got 0 arguments"),
        ("llm_budget(0.1, 0.2)", "expected one amount, got 2 arguments"),
        ("llm_budget(usd=0.1)", "unknown keyword argument usd"),
        ("llm_budget(True)", "not a boolean"),
        ("llm_budget('abc')", "write the amount without a currency sign or unit"),
        ("llm_budget(-0.5)", "a budget cannot be negative"),
        ("llm_budget(float('nan'))", "the amount must be finite"),
    ],
)
def test_bad_marker_is_collection_error(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    pytester.makepyfile(
        test_suite=f"""
        import pytest

        @pytest.mark.{marker}
        def test_marked():
            pass

        def test_other():
            pass
        """
    )
    result = pytester.runpytest(*BASE_ARGS)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting test_suite.py*",
            f"invalid *llm_budget marker on test_suite.py::test_marked*{message}*",
            "*Interrupted: 1 error during collection*",
        ]
    )
    assert "INTERNALERROR" not in result.stdout.str()


def test_marker_accepts_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.llm_budget("0.01")
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest(*BASE_ARGS, "--strict-markers")
    result.assert_outcomes(passed=1)


def test_marker_and_options_documented(pytester: pytest.Pytester) -> None:
    markers = pytester.runpytest(*BASE_ARGS, "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.llm_budget(usd): fail the test when its LiteLLM*"])
    help_text = pytester.runpytest(*BASE_ARGS, "--help")
    help_text.stdout.fnmatch_lines(
        [
            "LLM cost and budgets (pytest-llmcost):",
            "*--llm-budget=USD*Budget of the whole run in US dollars*",
            "*--llm-test-budget=USD*",
            "*--llm-unpriced=warn|fail*",
            "*--llm-cost-top=N*",
            "*--llm-cost-json=PATH*",
            "*--llm-price-map=bundled|remote*",
            "*--llm-budget-mode=stop|report*",
            "*--llm-settle-timeout=SECONDS*",
            "*--llm-cost-md=PATH*Write the cost report as Markdown*",
            "*--llm-baseline=PATH*",
            "*--llm-baseline-max-increase=PCT*",
            "*--llm-baseline-min-usd=USD*",
            "*--llm-baseline-missing=error|ok*",
        ]
    )
    help_text.stdout.fnmatch_lines(["*llm_budget (string):*", "*llm_test_budget (string):*"])


def test_quiet_without_calls_or_budgets(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*BASE_ARGS)
    result.assert_outcomes(passed=1)
    assert "LLM cost" not in result.stdout.str()


def test_unpriced_model_warns(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_inhouse(provider):
    ask("openai/inhouse-model")
    ask("openai/inhouse-model")

def test_priced(provider):
    ask()
"""
    )
    result = run(llm_pytester)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*UnpricedModelWarning: LiteLLM has no price for model 'openai/inhouse-model'*",
            "unpriced calls: 2, not counted in the total: openai/inhouse-model (2 calls)",
        ]
    )
    assert result.stdout.str().count("UnpricedModelWarning") == 1
    entry = test_entry(llm_pytester, "test_inhouse")
    assert entry["unpriced_calls"] == 2
    assert entry["calls"] == 2
    assert entry["cost_usd"] == 0.0
    assert report(llm_pytester)["totals"]["unpriced_calls"] == 2


@pytest.mark.parametrize("source", ["cli", "ini"])
def test_unpriced_fail(llm_pytester: pytest.Pytester, source: str) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
def test_inhouse(provider):
    ask("openai/inhouse-model")

def test_priced(provider):
    ask()
"""
    )
    if source == "ini":
        llm_pytester.makeini("[pytest]\nllm_unpriced = fail\n")
        result = run(llm_pytester)
    else:
        result = run(llm_pytester, "--llm-unpriced=fail")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["LLM cost unknown: 1 call(s) without a price (openai/inhouse-model); register a price*"]
    )


@pytest.mark.parametrize("source", ["cli", "ini"])
def test_cost_top(llm_pytester: pytest.Pytester, source: str) -> None:
    llm_pytester.makepyfile(
        test_suite=CALL + """
@pytest.mark.parametrize("calls", [1, 2, 3])
def test_spends(provider, calls):
    for _ in range(calls):
        ask()
"""
    )
    if source == "ini":
        llm_pytester.makeini("[pytest]\nllm_cost_top = 2\n")
        result = run(llm_pytester)
    else:
        result = run(llm_pytester, "--llm-cost-top=2")
    result.stdout.fnmatch_lines(
        [
            "costliest tests (top 2):",
            "  $0.00135  3 calls  test_suite.py::test_spends[3]",
            "  $0.00090  2 calls  test_suite.py::test_spends[2]",
        ]
    )
    assert "test_spends[1]" not in result.stdout.str()

    hidden = run(llm_pytester, "--llm-cost-top=0")
    assert "costliest tests" not in hidden.stdout.str()


def test_cost_json_from_ini(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makeini("[pytest]\nllm_cost_json = reports/llm.json\n")
    llm_pytester.makepyfile(test_suite=CALL + "\ndef test_one(provider):\n    ask()\n")
    result = llm_pytester.runpytest(*BASE_ARGS)
    result.assert_outcomes(passed=1)
    assert read_report(llm_pytester.path / "reports" / "llm.json")["totals"]["calls"] == 1
    result.stdout.fnmatch_lines(["JSON report: *reports*llm.json"])


def test_price_map_choice(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LITELLM_LOCAL_MODEL_COST_MAP", raising=False)
    pytester.makepyfile(
        """
        import os

        def test_env(record_property):
            print("cost map variable:", os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP"))
        """
    )
    bundled = pytester.runpytest(*BASE_ARGS, "-s", "--llm-budget=1")
    bundled.stdout.fnmatch_lines(["llmcost *: bundled price map (LiteLLM *)*", "*variable: True*"])
    assert "LITELLM_LOCAL_MODEL_COST_MAP" not in os.environ

    remote = pytester.runpytest(*BASE_ARGS, "-s", "--llm-price-map=remote")
    remote.stdout.fnmatch_lines(["llmcost *: remote price map*", "*variable: None*"])

    pytester.makeini("[pytest]\nllm_price_map = remote\n")
    from_ini = pytester.runpytest(*BASE_ARGS, "-s")
    from_ini.stdout.fnmatch_lines(["llmcost *: remote price map*"])

    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    overridden = pytester.runpytest(*BASE_ARGS, "-s", "--llm-price-map=remote")
    overridden.stdout.fnmatch_lines(["*variable: False*"])
    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"


def test_settle_timeout_option(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makeini("[pytest]\nllm_settle_timeout = 0.5\n")
    llm_pytester.makepyfile(test_suite=CALL + "\ndef test_one(provider):\n    ask()\n")
    result = run(llm_pytester, "--llm-settle-timeout=2")
    result.assert_outcomes(passed=1)
    assert test_entry(llm_pytester, "test_one")["cost_usd"] == 0.00045


def test_proxy_log_that_is_a_directory(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    pytester.mkdir("logs")
    result = pytester.runpytest(*BASE_ARGS, "--llm-proxy-log=logs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: cannot read the proxy cost log '*logs' from option --llm-proxy-log: is a "
        "directory; pass the file that LLMCOST_PROXY_LOG names for the proxy",
    ])


def test_proxy_log_under_a_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    pytester.makefile(".txt", notes="")
    result = pytester.runpytest(*BASE_ARGS, "--llm-proxy-log=notes.txt/llm-cost.jsonl")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: cannot read the proxy cost log '*notes.txt/llm-cost.jsonl' from option "
        "--llm-proxy-log: '*notes.txt' is not a directory; pass the file that "
        "LLMCOST_PROXY_LOG names for the proxy",
    ])
