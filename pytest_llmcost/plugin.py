"""pytest hook implementations of pytest-llmcost.

The module-level hooks register options and create one `CostTracker` per
pytest run. The tracker's hooks attribute, settle and judge each test's LLM
spend and write the reports, delegating the work to the modules they call.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import time
import warnings
from collections.abc import Callable, Generator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from . import __version__, importwatch
from .accounting import Accountant
from .baseline import Comparison, costs_of_summary
from .budgets import Budget, Violation, judge_run, judge_test
from .errors import (
    LLMCostWarning,
    PluginFaultWarning,
    UnaccountedCallWarning,
    UnpricedModelWarning,
)
from .ledger import OUTSIDE, Ledger, Location
from .money import format_usd
from .report.comparison import baseline_lines
from .report.files import append_text, write_atomically
from .report.json_report import write_json
from .report.markdown import render_markdown
from .report.summary import Outcome, RunSummary, TestSummary
from .report.terminal import cost_section, summary_lines
from .settings import (
    COST_MAP_VARIABLE,
    MARKER_HELP,
    InvalidMarkerError,
    InvalidSettingError,
    Settings,
    add_options,
    budget_for_test,
    load_settings,
    resolve_price_map,
)
from .spend import Spend

TRACKER_KEY = pytest.StashKey["CostTracker"]()
SAVED_COST_MAP_KEY = pytest.StashKey["str | None"]()
BUDGET_KEY = pytest.StashKey["Budget | None"]()

# Set by GitHub Actions to a file whose Markdown is shown on the job's summary page.
STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"

# How often an async test's loop rechecks for calls still settling, in seconds.
_LOOP_POLL_INTERVAL = 0.001

_OUTCOME_RANK: dict[Outcome, int] = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


# tryfirst: conftest files load right after this hook and may import LiteLLM,
# which reads its price-map switch once, at import.
@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    _select_price_map(early_config, early=True)


def _select_price_map(config: pytest.Config, early: bool = False) -> None:
    """Point LiteLLM at its bundled price map, unless the user chose the remote one."""
    if SAVED_COST_MAP_KEY in config.stash:
        return
    try:
        price_map = resolve_price_map(config, early)
    except (InvalidSettingError, ValueError):
        return  # pytest_configure reports the invalid value
    previous = os.environ.get(COST_MAP_VARIABLE)
    config.stash[SAVED_COST_MAP_KEY] = previous
    if price_map == "bundled":
        os.environ[COST_MAP_VARIABLE] = "True"
    elif previous is not None:
        os.environ[COST_MAP_VARIABLE] = "False"


def _restore_price_map(config: pytest.Config) -> None:
    if SAVED_COST_MAP_KEY not in config.stash:
        return
    previous = config.stash[SAVED_COST_MAP_KEY]
    del config.stash[SAVED_COST_MAP_KEY]
    if previous is None:
        os.environ.pop(COST_MAP_VARIABLE, None)
    else:
        os.environ[COST_MAP_VARIABLE] = previous


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    settings = load_settings(config)
    # For a plugin loaded after the early hook, such as one named in a conftest file.
    _select_price_map(config)

    tracker = CostTracker(config, settings)
    config.stash[TRACKER_KEY] = tracker
    config.pluginmanager.register(tracker, "llmcost-tracker")
    tracker.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    tracker = config.stash.get(TRACKER_KEY, None)
    if tracker is not None:
        tracker.stop()
        config.pluginmanager.unregister(tracker)
        del config.stash[TRACKER_KEY]
    _restore_price_map(config)


class CostTracker:
    """The state of one pytest run: the ledger, the LiteLLM callback and the verdicts."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.ledger = Ledger()
        self.accountant = Accountant(self.ledger)
        self.is_worker = hasattr(config, "workerinput")

        self._bridge: ModuleType | None = None
        self._callback: Any = None
        self._cancel_watch: Callable[[], None] | None = None
        self._stopped = False

        self._session: pytest.Session | None = None
        self._budgets: dict[str, Budget | None] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._violations: dict[str, Violation] = {}
        self._warned_models: set[str] = set()
        self._sections_added: set[str] = set()
        self._json_written: str | None = None
        self._markdown_written: str | None = None
        self._baseline_failures: set[str] = set()

    # -- LiteLLM ------------------------------------------------------------------

    def start(self) -> None:
        self._cancel_watch = importwatch.on_litellm_import(self._activate)

    def _activate(self) -> None:
        """Register the callback; runs when the code under test imports LiteLLM."""
        if self._stopped or self._bridge is not None:
            return
        from . import litellm_bridge

        callback = litellm_bridge.CostCallback(self.accountant)
        litellm_bridge.install(callback)
        self._callback = callback
        self._bridge = litellm_bridge

    def stop(self) -> None:
        self._stopped = True
        if self._cancel_watch is not None:
            self._cancel_watch()
            self._cancel_watch = None
        if self._bridge is not None:
            self._bridge.uninstall(self._callback)
            self._bridge = None
            self._callback = None

    # -- settling -----------------------------------------------------------------

    def _settle(self, nodeid: str | None) -> None:
        """Wait until the calls made by `nodeid` have settled, then warn about what did not."""
        bridge = self._bridge
        if bridge is not None:
            timeout = self.settings.settle_timeout
            bridge.wait_for_logging_executor(timeout)
            if self.ledger.pending_count(nodeid) > 0:
                # Async events of a loop that already closed wait in LiteLLM's queue.
                bridge.flush_async_logging(timeout)
            if not self.ledger.wait_settled(nodeid, timeout):
                expired = self.ledger.expire(nodeid)
                if expired:
                    warnings.warn(
                        UnaccountedCallWarning(
                            f"LiteLLM did not report the cost of {len(expired)} call(s) "
                            f"within {timeout:g} s: they are counted as unaccounted, not as $0. "
                            "Raise --llm-settle-timeout if the provider is slow to finish."
                        ),
                        stacklevel=1,
                    )
        self._warn_about_faults()
        if nodeid is not None:
            self._warn_about_unpriced(nodeid)

    def _warn_about_faults(self) -> None:
        for fault in self.accountant.take_faults():
            warnings.warn(
                PluginFaultWarning(
                    f"pytest-llmcost could not read a LiteLLM event in {fault.where} "
                    f"({fault.error}, {fault.count} time(s)): the call is counted as unaccounted"
                ),
                stacklevel=1,
            )

    def _warn_about_unpriced(self, nodeid: str) -> None:
        spend = self.ledger.test_spend(nodeid)
        for model in sorted(spend.unpriced_models):
            if model in self._warned_models:
                continue
            self._warned_models.add(model)
            warnings.warn(
                UnpricedModelWarning(
                    f"LiteLLM has no price for model {model!r}: its calls are counted as "
                    "unpriced, not as $0. Register a price with litellm.register_model(), "
                    "or pass --llm-unpriced=fail to fail tests that use it."
                ),
                stacklevel=1,
            )

    async def _settle_in_loop(self, nodeid: str) -> None:
        """Drain LiteLLM's async logging in the test's own loop, before the loop closes."""
        bridge = self._bridge
        if bridge is None:
            return
        timeout = self.settings.settle_timeout
        deadline = time.monotonic() + timeout
        await bridge.drain_async_logging(timeout)
        while self.ledger.pending_count(nodeid) > 0 and time.monotonic() < deadline:
            await asyncio.sleep(_LOOP_POLL_INTERVAL)

    def _wrap_coroutine_test(self, item: pytest.Function) -> Callable[..., Any] | None:
        """Make an async test drain LiteLLM's logging in its own loop when it returns."""
        original = item.obj
        if not inspect.iscoroutinefunction(original) or hasattr(original, "hypothesis"):
            return None
        tracker = self
        nodeid = item.nodeid

        @functools.wraps(original)
        async def run_and_settle(*args: Any, **kwargs: Any) -> Any:
            try:
                return await original(*args, **kwargs)
            finally:
                if _running_asyncio_loop():
                    await tracker._settle_in_loop(nodeid)

        item.obj = run_and_settle
        return original

    # -- collection -----------------------------------------------------------------

    def pytest_report_header(self, config: pytest.Config) -> str:
        version = importwatch.installed_litellm_version() or "not installed"
        parts = [f"llmcost {__version__}: {self.settings.price_map} price map (LiteLLM {version})"]
        if self.settings.run_budget is not None:
            budget = self.settings.run_budget
            parts.append(f"run budget {format_usd(budget.amount)} ({budget.source})")
        if self.settings.test_budget is not None:
            budget = self.settings.test_budget
            parts.append(f"test budget {format_usd(budget.amount)} ({budget.source})")
        return ", ".join(parts)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._session = session

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Resolve each test's budget, and report invalid markers as collection errors."""
        kept = []
        for item in items:
            try:
                budget = budget_for_test(item, self.settings)
            except InvalidMarkerError as error:
                report = pytest.CollectReport(
                    item.nodeid, "failed", longrepr=str(error), result=[]
                )
                config.hook.pytest_collectreport(report=report)
                continue
            item.stash[BUDGET_KEY] = budget
            self._budgets[item.nodeid] = budget
            kept.append(item)
        items[:] = kept

    # -- running tests --------------------------------------------------------------

    def _phase(self, item: pytest.Item, phase: Any) -> Generator[None, Any, Any]:
        self.accountant.location = Location(item.nodeid, phase)
        try:
            return (yield)
        finally:
            self._settle(item.nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any, Any]:
        return (yield from self._phase(item, "setup"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        original = self._wrap_coroutine_test(item) if isinstance(item, pytest.Function) else None
        try:
            return (yield from self._phase(item, "call"))
        finally:
            if original is not None:
                item.obj = original  # type: ignore[attr-defined]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, Any, Any]:
        try:
            return (yield from self._phase(item, "teardown"))
        finally:
            self.accountant.location = OUTSIDE

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.when == "setup":
            return report
        if report.when == "teardown" and item.nodeid in self._violations:
            return report

        nodeid = item.nodeid
        spend = self.ledger.test_spend(nodeid)
        budget = item.stash.get(BUDGET_KEY, None)
        if spend.calls > 0 and nodeid not in self._sections_added:
            report.sections.append(("LLM cost", cost_section(spend, budget)))
            self._sections_added.add(nodeid)

        violation = judge_test(spend.cost, spend.calls, budget)
        if violation is not None:
            self._violations[nodeid] = violation
            _fail_report(report, violation.message)
        elif self.settings.unpriced == "fail" and report.when == "call":
            message = _unpriced_message(spend)
            if message is not None:
                _fail_report(report, message)
        self._judge_against_baseline(report, spend)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = _outcome_of(report)
        previous = self._outcomes.get(report.nodeid)
        if previous is None or _OUTCOME_RANK[outcome] > _OUTCOME_RANK[previous]:
            self._outcomes[report.nodeid] = outcome
        if report.when == "teardown":
            self._stop_if_run_over_budget()

    def _run_violation(self) -> Violation | None:
        cost, calls = self.ledger.run_totals()
        return judge_run(cost, calls, self.settings.run_budget)

    def _stop_if_run_over_budget(self) -> None:
        if self._session is None or self.settings.run_budget is None:
            return
        violation = self._run_violation()
        if violation is not None and not self._session.shouldfail:
            self._session.shouldfail = violation.message

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        # Calls made at import or collection time count toward the run budget too.
        self._settle(None)
        violation = self._run_violation()
        if violation is not None and not session.config.option.collectonly:
            session.shouldfail = violation.message
            raise session.Failed(violation.message)
        try:
            return (yield)
        finally:
            self._settle(None)
            if self._run_violation() is not None and session.testsfailed == 0:
                # Fails the run like a failed test, so pytest exits with code 1.
                session.testsfailed = 1
            if self._baseline_run_message() is not None and session.testsfailed == 0:
                session.testsfailed = 1

    # -- reporting ------------------------------------------------------------------

    def build_summary(self) -> RunSummary:
        snapshot = self.ledger.snapshot()
        tests: dict[str, TestSummary] = {}
        for nodeid, outcome in self._outcomes.items():
            spend = snapshot.tests.get(nodeid, Spend())
            budget = self._budgets.get(nodeid)
            if spend.calls == 0 and budget is None:
                continue
            tests[nodeid] = TestSummary(
                nodeid, outcome, spend, budget, self._violations.get(nodeid)
            )
        # Calls of tests that produced no report (an interrupted run) still count.
        for nodeid, spend in snapshot.tests.items():
            if nodeid not in tests:
                tests[nodeid] = TestSummary(nodeid, "error", spend, self._budgets.get(nodeid),
                                            self._violations.get(nodeid))
        return RunSummary(
            plugin_version=__version__,
            litellm_version=importwatch.installed_litellm_version(),
            price_map=self.settings.price_map,
            run_budget=self.settings.run_budget,
            test_budget=self.settings.test_budget,
            run=snapshot.run,
            outside=snapshot.outside,
            tests=tests,
            run_violation=judge_run(snapshot.run.cost, snapshot.run.calls,
                                    self.settings.run_budget),
        )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._settle(None)
        if self.is_worker:
            return
        self._write_markdown(self.build_summary())
        if self.settings.cost_json is None:
            return
        path = self.settings.cost_json
        write_json(path, self.build_summary())
        self._json_written = str(path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        summary = self.build_summary()
        if (
            not summary.has_activity
            and self._json_written is None
            and self._markdown_written is None
            and self.settings.baseline is None
        ):
            return
        terminalreporter.write_sep("=", "LLM cost")
        for line in summary_lines(summary, self.settings.cost_top):
            terminalreporter.write_line(line)
        if self.settings.baseline is not None:
            comparison = self._compare_with_baseline(summary)
            for line in baseline_lines(self.settings.baseline, comparison, self.settings.cost_top):
                terminalreporter.write_line(line)
        if self._json_written is not None:
            terminalreporter.write_line(f"JSON report: {self._json_written}")
        if self._markdown_written is not None:
            terminalreporter.write_line(f"Markdown report: {self._markdown_written}")
        if summary.run_violation is not None:
            terminalreporter.write_line(f"FAIL {summary.run_violation.message}", red=True, bold=True)
        baseline_message = self._baseline_run_message()
        if baseline_message is not None:
            terminalreporter.write_line(f"FAIL {baseline_message}", red=True, bold=True)

    # -- baseline and Markdown report -------------------------------------------------

    def _judge_against_baseline(self, report: pytest.TestReport, spend: Spend) -> None:
        """Fail a test whose cost grew over its cost in the baseline by more than the limit."""
        baseline = self.settings.baseline
        nodeid = report.nodeid
        if baseline is None or report.when == "setup" or nodeid in self._baseline_failures:
            return
        message = baseline.failure_of_test(nodeid, spend.cost)
        if message is not None:
            self._baseline_failures.add(nodeid)
            _fail_report(report, message, section="LLM baseline")

    def _baseline_run_message(self) -> str | None:
        """Return the failure of a run whose total cost grew over the baseline's, or `None`."""
        if self.settings.baseline is None:
            return None
        cost, _ = self.ledger.run_totals()
        return self.settings.baseline.failure_of_run(cost)

    def _compare_with_baseline(self, summary: RunSummary) -> Comparison | None:
        if self.settings.baseline is None:
            return None
        return self.settings.baseline.compare_with(costs_of_summary(summary))

    def _write_markdown(self, summary: RunSummary) -> None:
        """Write the Markdown report, and append it to the GitHub job summary if there is one."""
        path = self.settings.cost_md
        step_summary = os.environ.get(STEP_SUMMARY_VARIABLE, "")
        # The job summary gets a report only from runs that made LLM calls, so that
        # unrelated pytest steps of a workflow add nothing to it.
        append = self.settings.step_summary and bool(step_summary) and summary.run.calls > 0
        if path is None and not append:
            return
        text = render_markdown(
            summary,
            self.settings.cost_top,
            self.settings.baseline,
            self._compare_with_baseline(summary),
        )
        if path is not None and _write_report_file(path, text, "Markdown report", append=False):
            self._markdown_written = str(path)
        if append:
            _write_report_file(Path(step_summary), text, "GitHub job summary", append=True)


def _running_asyncio_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _fail_report(report: pytest.TestReport, message: str, section: str = "LLM budget") -> None:
    """Turn a passed test report into a failure with a one-line reason."""
    if report.passed:
        report.outcome = "failed"
        report.longrepr = message
    elif report.failed:
        report.sections.append((section, message))


def _write_report_file(path: Path, text: str, what: str, append: bool) -> bool:
    """Write or append a report; a failure is a warning, so the run's outcome is unchanged."""
    try:
        if append:
            append_text(path, text)
        else:
            write_atomically(path, text)
    except OSError as error:
        warnings.warn(
            LLMCostWarning(f"pytest-llmcost could not write the {what} to {str(path)!r}: {error}"),
            stacklevel=1,
        )
        return False
    return True


def _unpriced_message(spend: Spend) -> str | None:
    if not spend.unpriced_calls and not spend.unaccounted_calls:
        return None
    parts = []
    if spend.unpriced_calls:
        models = ", ".join(sorted(spend.unpriced_models))
        parts.append(f"{spend.unpriced_calls} call(s) without a price ({models})")
    if spend.unaccounted_calls:
        parts.append(f"{spend.unaccounted_calls} call(s) whose cost LiteLLM never reported")
    return (
        f"LLM cost unknown: {' and '.join(parts)}; register a price with "
        "litellm.register_model(), or run with --llm-unpriced=warn"
    )


def _outcome_of(report: pytest.TestReport) -> Outcome:
    if report.when == "call":
        if report.passed:
            return "passed"
        return "skipped" if report.skipped else "failed"
    if report.failed:
        return "error"
    return "skipped" if report.skipped else "passed"
