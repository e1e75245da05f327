"""pytest hook implementations of pytest-llmcost.

The module-level hooks register options and create one `CostTracker` per
pytest run. The tracker's hooks attribute, settle and judge each test's LLM
spend and write the reports, delegating the work to the modules they call.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from . import __version__, importwatch
from .accounting import Accountant
from .budgets import Budget, Violation, judge_run, judge_test
from .ledger import OUTSIDE, Ledger, Location
from .money import ZERO, InvalidAmountError, format_usd, parse_usd, to_plain_text
from .settings import (
    COST_MAP_VARIABLE,
    MARKER_HELP,
    InvalidMarkerError,
    InvalidSettingError,
    Settings,
    add_options,
    load_settings,
    marker_budget,
    resolve_price_map,
)
from .spend import CallRecord, Spend
from .spendgate import SpendGate
from .verdicts import (
    fail_report,
    outcome_of,
    refusal_message,
    refused_note,
    unpriced_message,
)
from .xdist_support import OUTSIDE_KEY, RUN_TOTAL_KEY, uses_xdist_workers

if TYPE_CHECKING:
    from .baseline import Comparison
    from .fixture import LLMCost
    from .report.summary import Outcome, RunSummary

# The report modules, the warning types, asyncio and the fixture's class are
# imported in the functions that use them: a run that never imports LiteLLM and
# sets no budget needs none of them, and each import adds to pytest's start-up.

TRACKER_KEY = pytest.StashKey["CostTracker"]()
SAVED_COST_MAP_KEY = pytest.StashKey["str | None"]()
BUDGET_KEY = pytest.StashKey["Budget | None"]()

# Set by GitHub Actions to a file whose Markdown is shown on the job's summary page.
STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"

# How often an async test's loop rechecks for calls still settling, in seconds.
_LOOP_POLL_INTERVAL = 0.001

# Start of every message with which the plugin stops a run over its budget.
RUN_BUDGET_STOP_PREFIX = "LLM run budget "

_OUTCOME_RANK: dict[Outcome, int] = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


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


@pytest.fixture
def llm_cost(request: pytest.FixtureRequest) -> LLMCost:
    """Provide the running test's LLM spend so far: `.usd`, `.calls`, `.budget(usd)` and more."""
    from .fixture import LLMCost

    tracker = request.config.stash[TRACKER_KEY]
    return LLMCost(tracker, request.node.nodeid)


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
        self.accountant.price_unpriced = self._price_with_hook
        self.accountant.on_settled = self._announce_settled
        self.stops_spending = settings.budget_mode == "stop"
        self.gate = SpendGate(self.ledger, settings.run_budget if self.stops_spending else None)
        self.is_worker = hasattr(config, "workerinput")
        self.xdist: Any = None  # an XdistController on a pytest-xdist controller with workers
        self.shared_total: Any = None  # the run total shared with other pytest-xdist workers

        shared_path = getattr(config, "workerinput", {}).get(RUN_TOTAL_KEY)
        if shared_path is not None:
            from .shared_ledger import SharedRunTotal

            self.shared_total = SharedRunTotal(Path(shared_path))
            self.ledger.on_booked = self.shared_total.add
            self.gate.run_spent = self.shared_total.total

        self._bridge: ModuleType | None = None
        self._callback: Any = None
        self._cancel_watch: Callable[[], None] | None = None
        self._stopped = False
        # Why LiteLLM cannot be tracked in this run, if it cannot.
        self.unusable: str | None = None
        self._replaced_prices: dict[str, Any] | None = None

        self._session: pytest.Session | None = None
        self._budgets: dict[str, Budget | None] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._violations: dict[str, Violation] = {}
        self._warned_models: set[str] = set()
        self._warned_unaccounted = False
        self._sections_added: set[str] = set()
        self._refusals_reported: set[str] = set()
        self._block_violations: dict[str, list[str]] = {}
        self._json_written: str | None = None
        self._complete = True
        # The summary built at session end, reused by the terminal summary.
        self._final_summary: RunSummary | None = None
        # Errors of hook implementations, by the test they happened in (None outside tests).
        self._hook_errors: dict[str | None, list[str]] = {}
        self._hook_errors_lock = threading.Lock()
        # Per-test spend reported by pytest-xdist workers, and its running total.
        self._worker_tests: dict[str, Spend] = {}
        self._worker_cost = ZERO
        self._worker_calls = 0
        self._run_used_up_on_worker = False
        # The reason the plugin stopped the run, once it has.
        self._stop_message: str | None = None
        self._markdown_written: str | None = None
        self._baseline_failures: set[str] = set()
        # Reads the cost log of a LiteLLM proxy the tests call (--llm-proxy-log).
        self.proxy_follower: Any = None
        self._started_tests: set[str] = set()
        self._saved_proxy_variable: str | None = None
        # Deadlines of the settle waits that async tests ran in their own loops, by node
        # id. The wait after such a test ends at the same deadline instead of a new one.
        self._loop_settle_deadlines: dict[str, float] = {}

    # -- LiteLLM ------------------------------------------------------------------

    def start(self) -> None:
        if uses_xdist_workers(self.config):
            from .xdist_support import XdistController

            self.xdist = XdistController()
            self.config.pluginmanager.register(self.xdist, "llmcost-xdist")
        if self.settings.proxy_log is not None:
            self._follow_proxy_log(self.settings.proxy_log)
        self._cancel_watch = importwatch.on_litellm_import(self._activate)

    def _follow_proxy_log(self, path: Path) -> None:
        from .proxy_follower import ProxyFollower
        from .proxy_log import LOG_VARIABLE

        owner: Callable[[str], bool | None]
        if self.is_worker:
            owner = self._started_tests.__contains__
        elif self.xdist is not None:
            # The controller books, at the end, what no worker's test claimed.
            def owner(test_id: str) -> bool | None:
                return False if test_id in self._outcomes else None
        else:
            def owner(test_id: str) -> bool | None:
                return True if test_id in self._budgets else None

        self.proxy_follower = ProxyFollower(
            path,
            self.ledger,
            owner,
            untagged=not self.is_worker,
            on_record=self._price_with_hook,
            on_settled=self._announce_settled,
            on_fault=self.accountant.record_fault,
        )
        if self.xdist is None:
            self.proxy_follower.start()
        # A proxy that the tests start inherits the path of the log to write.
        self._saved_proxy_variable = os.environ.get(LOG_VARIABLE)
        os.environ[LOG_VARIABLE] = str(path)

    def _activate(self) -> None:
        """Register the callback; runs when the code under test imports LiteLLM."""
        if self._stopped or self._bridge is not None or self.unusable is not None:
            return
        self.unusable = importwatch.unsupported_litellm_reason()
        if self.unusable is not None:
            from .errors import PluginFaultWarning

            warnings.warn(PluginFaultWarning(self.unusable), stacklevel=1)
            return
        try:
            self._install_callback()
        except Exception as error:  # never let a LiteLLM change break the user's import
            from .errors import PluginFaultWarning

            self.unusable = (
                f"pytest-llmcost could not register its LiteLLM callback "
                f"({type(error).__name__}: {error}): costs of this run are not recorded"
            )
            warnings.warn(PluginFaultWarning(self.unusable), stacklevel=1)

    def _install_callback(self) -> None:
        from . import litellm_bridge

        callback = litellm_bridge.CostCallback(
            self.accountant,
            self.gate if self.stops_spending else None,
            self.settings.settle_timeout,
        )
        litellm_bridge.install(callback)
        # Set before anything else can fail, so that stop() removes what was installed.
        self._callback = callback
        self._bridge = litellm_bridge
        if self.settings.prices:
            self._replaced_prices = litellm_bridge.register_prices(self.settings.prices)
        if self.stops_spending:
            litellm_bridge.install_gate(self.gate, self.accountant, self.settings.settle_timeout)

    def stop(self) -> None:
        self._stopped = True
        if self.proxy_follower is not None:
            from .proxy_log import LOG_VARIABLE

            self.proxy_follower.stop()
            self.proxy_follower = None
            if self._saved_proxy_variable is None:
                os.environ.pop(LOG_VARIABLE, None)
            else:
                os.environ[LOG_VARIABLE] = self._saved_proxy_variable
        if self.xdist is not None:
            self.config.pluginmanager.unregister(self.xdist)
            self.xdist.close()
        if self._cancel_watch is not None:
            self._cancel_watch()
            self._cancel_watch = None
        if self._bridge is not None:
            self._bridge.uninstall_gate(self.gate)
            if self._replaced_prices is not None:
                self._bridge.restore_prices(self._replaced_prices)
            self._bridge.uninstall(self._callback)
            self._bridge = None
            self._callback = None

    # -- hooks for conftest.py files and plugins --------------------------------------

    def _hook_error(self, nodeid: str | None, message: str) -> None:
        with self._hook_errors_lock:
            errors = self._hook_errors.setdefault(nodeid, [])
            if message not in errors:
                errors.append(message)

    def _price_with_hook(self, record: CallRecord) -> CallRecord:
        """Ask pytest_llmcost_price_call for the price of an unpriced call."""
        hook_name = "pytest_llmcost_price_call"
        try:
            result = self.config.hook.pytest_llmcost_price_call(call=record)
        except Exception as error:
            self._hook_error(record.nodeid, f"{hook_name} raised {type(error).__name__}: {error}")
            return record
        if result is None:
            return record
        cost = _hook_amount(result)
        if cost is None:
            self._hook_error(
                record.nodeid,
                f"{hook_name} returned {result!r} for model {record.model!r}: expected a "
                "finite, non-negative number of US dollars, or None",
            )
            return record
        import dataclasses

        return dataclasses.replace(record, cost_usd=cost, price_source="hook")

    def _announce_settled(self, record: CallRecord) -> None:
        try:
            self.config.hook.pytest_llmcost_call_settled(call=record)
        except Exception as error:
            self._hook_error(
                record.nodeid,
                f"pytest_llmcost_call_settled raised {type(error).__name__}: {error}",
            )

    def _hook_budget(self, item: pytest.Item) -> Budget | None:
        """Return the budget from pytest_llmcost_test_budget; raises InvalidMarkerError."""
        hook_name = "pytest_llmcost_test_budget"
        try:
            result = self.config.hook.pytest_llmcost_test_budget(item=item)
        except Exception as error:
            raise InvalidMarkerError(
                f"{hook_name} raised {type(error).__name__} for {item.nodeid}: {error}"
            ) from None
        if result is None:
            return None
        amount = _hook_amount(result)
        if amount is None:
            raise InvalidMarkerError(
                f"{hook_name} returned {result!r} for {item.nodeid}: expected a finite, "
                "non-negative number of US dollars, or None"
            )
        return Budget(amount, "hook")

    # -- settling -----------------------------------------------------------------

    def _settle(self, nodeid: str | None) -> None:
        """Wait until the calls made by `nodeid` have settled, then warn about what did not."""
        bridge = self._bridge
        follower = self.proxy_follower
        deadline = self._loop_settle_deadlines.pop(nodeid, None) if nodeid is not None else None
        if bridge is not None or follower is not None:
            # One deadline for all the steps, so an unsettled call costs one timeout.
            if deadline is None:
                deadline = time.monotonic() + self.settings.settle_timeout
            if follower is not None:
                follower.poll()
            if bridge is not None:
                bridge.wait_for_logging_executor(_time_left(deadline))
                if self.ledger.pending_count(nodeid) > 0:
                    # Async events of a loop that already closed wait in LiteLLM's queue.
                    try:
                        bridge.flush_async_logging(_time_left(deadline))
                    except Exception as error:  # a plugin fault is a warning, not a test error
                        self.accountant.record_fault("flushing LiteLLM's async logging", error)
            if not self.ledger.wait_settled(nodeid, _time_left(deadline)):
                expired = self.ledger.expire(nodeid)
                for record in expired:
                    self._announce_settled(record)
                if expired:
                    self._warn_about_unaccounted(len(expired))
        self._warn_about_faults()
        if nodeid is not None and not self.is_worker:
            # Workers stay quiet: the controller warns once for the whole run.
            self._warn_about_unpriced(self.ledger.test_spend(nodeid))

    def _warn_about_unaccounted(self, count: int) -> None:
        if self.is_worker or self._warned_unaccounted:
            return
        self._warned_unaccounted = True
        from .errors import UnaccountedCallWarning

        timeout = self.settings.settle_timeout
        warnings.warn(
            UnaccountedCallWarning(
                f"LiteLLM did not report the cost of {count} call(s) within {timeout:g} s: "
                "they are counted as unaccounted, not as $0, and the summary lists them. "
                "Raise --llm-settle-timeout if the provider is slow to finish."
            ),
            stacklevel=1,
        )

    def _warn_about_faults(self) -> None:
        for fault in self.accountant.take_faults():
            from .errors import PluginFaultWarning

            warnings.warn(
                PluginFaultWarning(
                    f"pytest-llmcost could not read a LiteLLM event in {fault.where} "
                    f"({fault.error}, {fault.count} time(s)): the call is counted as unaccounted"
                ),
                stacklevel=1,
            )

    def _warn_about_unpriced(self, spend: Spend) -> None:
        if not spend.unpriced_models:
            return
        from .errors import UnpricedModelWarning

        zero_usage_models = spend.zero_usage_models
        for model in sorted(spend.unpriced_models):
            if model in self._warned_models:
                continue
            self._warned_models.add(model)
            if model in zero_usage_models:
                reason = (
                    f"LiteLLM reported no tokens and $0 for a call to model {model!r}, so its "
                    "cost is unknown: such calls are counted as unpriced, not as free. Check "
                    "that the provider or mock sends usage and does not cut streams short"
                )
            else:
                reason = (
                    f"LiteLLM has no price for model {model!r}: its calls are counted as "
                    "unpriced, not as $0. Register a price with litellm.register_model()"
                )
            warnings.warn(
                UnpricedModelWarning(
                    f"{reason}, or pass --llm-unpriced=fail to fail tests that make them."
                ),
                stacklevel=1,
            )

    def settle_for_reading(self, nodeid: str) -> None:
        """Wait for the test's sync calls in flight, for the llm_cost fixture, expiring none."""
        bridge = self._bridge
        if self.proxy_follower is not None:
            self.proxy_follower.poll()
        elif bridge is None:
            return
        if _running_asyncio_loop():
            pending = self.ledger.pending_count(nodeid)
            if pending:
                from .errors import LLMCostWarning

                warnings.warn(
                    LLMCostWarning(
                        f"llm_cost was read while {pending} call(s) of this async test were "
                        "still settling, so it leaves them out: await llm_cost.settled() first"
                    ),
                    stacklevel=3,
                )
            return
        timeout = self.settings.settle_timeout
        if bridge is not None:
            bridge.wait_for_logging_executor(timeout)
        self.ledger.wait_settled(nodeid, timeout)

    async def settle_in_loop(self, nodeid: str) -> None:
        await self._settle_in_loop(nodeid)

    def record_block_violation(self, nodeid: str, message: str) -> None:
        self._block_violations.setdefault(nodeid, []).append(message)

    async def _settle_in_loop(self, nodeid: str) -> float:
        """Drain LiteLLM's async logging in the test's own loop, before the loop closes.

        Returns the deadline of the wait.
        """
        import asyncio

        timeout = self.settings.settle_timeout
        deadline = time.monotonic() + timeout
        bridge = self._bridge
        if bridge is None and self.proxy_follower is None:
            return deadline
        if bridge is not None:
            await bridge.drain_async_logging(timeout)
        while self.ledger.pending_count(nodeid) > 0 and time.monotonic() < deadline:
            await asyncio.sleep(_LOOP_POLL_INTERVAL)
        return deadline

    def _wrap_coroutine_test(self, item: pytest.Function) -> Callable[..., Any] | None:
        """Make an async test drain LiteLLM's logging in its own loop when it returns."""
        original: Callable[..., Any] = item.obj
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
                    deadline = await tracker._settle_in_loop(nodeid)
                    tracker._loop_settle_deadlines[nodeid] = deadline

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
        # A hook that no plugin implements returns None, so the call is skipped:
        # it took about 3 microseconds per test (pyinstrument, 500 tests).
        ask_hook = bool(config.hook.pytest_llmcost_test_budget.get_hookimpls())
        for item in items:
            try:
                budget = (
                    marker_budget(item)
                    or (self._hook_budget(item) if ask_hook else None)
                    or self.settings.test_budget
                )
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
        location = Location(item.nodeid, phase)
        self.accountant.location = location
        if self.proxy_follower is not None:
            self._started_tests.add(item.nodeid)
            self.proxy_follower.timeline.enter(location)
        try:
            return (yield)
        finally:
            self._settle(item.nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any, Any]:
        if self.stops_spending:
            self.gate.enter_test(item.nodeid, item.stash.get(BUDGET_KEY, None))
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
            if self.proxy_follower is not None:
                self.proxy_follower.timeline.enter(OUTSIDE)
            self.gate.leave_test()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if self.is_worker:
            self._attach_spend(item, report)
        if report.when == "setup":
            return report
        nodeid = item.nodeid
        spend = self.ledger.test_spend(nodeid)
        if report.when == "teardown" and spend.calls and self.settings.junit:
            # junitxml reads the properties of the teardown report; pytest-xdist carries them.
            report.user_properties.extend(
                [
                    ("llm_cost_usd", to_plain_text(spend.cost)),
                    ("llm_calls", spend.calls),
                    ("llm_prompt_tokens", spend.prompt_tokens),
                    ("llm_completion_tokens", spend.completion_tokens),
                ]
            )
            if spend.proxy_calls:
                report.user_properties.append(("llm_proxy_calls", spend.proxy_calls))
        if report.when == "teardown" and nodeid in self._violations:
            return report

        budget = item.stash.get(BUDGET_KEY, None)
        if spend.calls > 0 and nodeid not in self._sections_added:
            from .report.terminal import cost_section

            report.sections.append(("LLM cost", cost_section(spend, budget)))
            self._sections_added.add(nodeid)

        violation = judge_test(spend.cost, spend.calls, budget)
        refusals = self.gate.refusals(nodeid)
        with self._hook_errors_lock:
            hook_errors = self._hook_errors.pop(nodeid, [])
        if hook_errors:
            fail_report(report, "; ".join(hook_errors))
        block_violations = self._block_violations.pop(nodeid, [])
        if block_violations:
            over_budget_only = report.passed
            fail_report(report, "; ".join(block_violations))
            report.llmcost_over_budget = over_budget_only  # type: ignore[attr-defined]
        if violation is not None:
            self._violations[nodeid] = violation
            if report.passed:
                report.llmcost_over_budget = True  # type: ignore[attr-defined]
            fail_report(report, violation.message + refused_note(refusals))
        elif refusals and nodeid not in self._refusals_reported:
            # A test whose call was rejected fails even if its code caught the error.
            self._refusals_reported.add(nodeid)
            fail_report(report, refusal_message(refusals))
        elif self.settings.unpriced == "fail" and report.when == "call":
            message = unpriced_message(spend)
            if message is not None:
                fail_report(report, message)
        self._judge_against_baseline(report, spend)
        if report.when == "call" and spend.calls:
            report.llmcost_cost = format_usd(spend.cost)  # type: ignore[attr-defined]
        return report

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        """Show a test's spend after its status with -v, and OVER BUDGET for budget failures."""
        if report.when != "call" or hasattr(report, "wasxfail"):
            return None
        if getattr(report, "llmcost_over_budget", False):
            return "failed", "B", ("OVER BUDGET", {"red": True})
        cost = getattr(report, "llmcost_cost", None)
        if cost is None or config.get_verbosity() <= 0:
            return None
        if report.passed:
            return "passed", ".", (f"PASSED [{cost}]", {"green": True})
        if report.failed:
            return "failed", "F", (f"FAILED [{cost}]", {"red": True})
        return None

    def _add_junit_totals(self) -> None:
        """Add the run's totals to the test suite of --junitxml, on the controller."""
        if self.is_worker or not self.settings.junit:
            return
        try:
            from _pytest.junitxml import xml_key
        except ImportError:  # pytest moved its junitxml internals: skip the suite totals
            return
        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        cost, calls = self._run_totals()
        if calls == 0:
            return
        xml.add_global_property("llm_cost_usd", to_plain_text(cost))
        xml.add_global_property("llm_calls", str(calls))

    def _attach_spend(self, item: pytest.Item, report: pytest.TestReport) -> None:
        """Attach the test's spend so far to its report, which pytest-xdist sends to the controller.

        Every phase carries the total so far, so what a test spent before its worker
        crashed still reaches the controller.
        """
        spend = self.ledger.test_spend(item.nodeid)
        budget = item.stash.get(BUDGET_KEY, None)
        if spend.calls == 0 and spend.refused_calls == 0 and budget is None:
            return
        report.llmcost = {  # type: ignore[attr-defined]
            "spend": spend.to_dict(),
            "budget": [str(budget.amount), budget.source] if budget is not None else None,
            "run_used_up": self.gate.run_used_up is not None,
        }

    def _receive_spend(self, report: pytest.TestReport) -> None:
        """Book the spend a pytest-xdist worker attached to a test report."""
        payload = getattr(report, "llmcost", None)
        if not isinstance(payload, dict) or self.is_worker:
            return
        spend = Spend.from_dict(payload["spend"])
        previous = self._worker_tests.get(report.nodeid)
        if previous is not None:
            self._worker_cost -= previous.cost
            self._worker_calls -= previous.calls
        self._worker_tests[report.nodeid] = spend
        self._worker_cost += spend.cost
        self._worker_calls += spend.calls

        if "budget" in payload:
            budget_data = payload["budget"]
            self._budgets[report.nodeid] = (
                Budget(Decimal(budget_data[0]), budget_data[1]) if budget_data else None
            )
        budget = self._budgets.get(report.nodeid)
        violation = judge_test(spend.cost, spend.calls, budget)
        if violation is not None:
            self._violations[report.nodeid] = violation
        if payload.get("run_used_up"):
            self._run_used_up_on_worker = True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._receive_spend(report)
        outcome = outcome_of(report)
        previous = self._outcomes.get(report.nodeid)
        if previous is None or _OUTCOME_RANK[outcome] > _OUTCOME_RANK[previous]:
            self._outcomes[report.nodeid] = outcome
        if report.when == "teardown":
            self._stop_if_run_over_budget()

    def _run_totals(self) -> tuple[Decimal, int]:
        cost, calls = self.ledger.run_totals()
        cost += self._worker_cost
        calls += self._worker_calls
        if self.xdist is not None:
            cost += self.xdist.outside.cost
            calls += self.xdist.outside.calls
        if self.shared_total is not None:
            # A worker judges the run by the total that all workers share.
            cost = max(cost, self.shared_total.total())
        return cost, calls

    def _run_violation(self) -> Violation | None:
        cost, calls = self._run_totals()
        return judge_run(cost, calls, self.settings.run_budget)

    def _stop_message_now(self) -> str | None:
        """Return why the run must stop: over its budget, or a call rejected at it."""
        budget = self.settings.run_budget
        violation = self._run_violation()
        if violation is not None:
            return violation.message
        if budget is not None and (self.gate.run_used_up or self._run_used_up_on_worker):
            spent, _ = self._run_totals()
            return (
                f"LLM run budget used up: spent {format_usd(spent)} of "
                f"{format_usd(budget.amount)} ({budget.source}); further calls are rejected"
            )
        return None

    def _stop_if_run_over_budget(self) -> None:
        if self._session is None or self.settings.run_budget is None:
            return
        message = self._stop_message_now()
        if message is None or self._session.shouldfail:
            return
        self._stop_message = message
        self._session.shouldfail = message
        if self.xdist is not None:
            # pytest-xdist's controller schedules no further tests once it should stop.
            dsession = self.config.pluginmanager.getplugin("dsession")
            if dsession is not None and not getattr(dsession, "shouldstop", True):
                dsession.shouldstop = message

    def _stopped_by_budget(self, reason: str) -> bool:
        """True if pytest-xdist stopped the run for a run budget, on the controller or a worker.

        A worker that finds the shared total over the budget first stops with its own
        message, and that message can reach the controller before the controller stops.
        """
        if self._stop_message is not None and reason == self._stop_message:
            return True
        return self.xdist is not None and reason.startswith(RUN_BUDGET_STOP_PREFIX)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        # Calls made at import or collection time count toward the run budget too.
        self._settle(None)
        violation = self._run_violation()
        if violation is not None and not session.config.option.collectonly and not self.is_worker:
            session.shouldfail = violation.message
            raise session.Failed(violation.message)
        try:
            return (yield)
        except KeyboardInterrupt as interrupt:
            # pytest-xdist ends a stopped run with an Interrupted error (exit code 2),
            # but a run stopped by its budget must exit like a failed run instead.
            reason = str(interrupt)
            if not self._stopped_by_budget(reason):
                raise
            if self._stop_message is None:
                self._stop_message = self._stop_message_now() or reason
            session.testsfailed = max(session.testsfailed, 1)
            return True
        finally:
            self._settle(None)
            self._add_junit_totals()
            if self._run_violation() is not None and session.testsfailed == 0:
                # Fails the run like a failed test, so pytest exits with code 1.
                session.testsfailed = 1
            if self.unusable is not None and self._has_budgets() and session.testsfailed == 0:
                # With a budget set, an untracked run must not pass as if it spent nothing.
                session.testsfailed = 1
            if self._baseline_run_message() is not None and session.testsfailed == 0:
                session.testsfailed = 1

    # -- reporting ------------------------------------------------------------------

    def build_summary(self) -> RunSummary:
        from .report.summary import RunSummary, TestSummary

        snapshot = self.ledger.snapshot()
        test_spends = dict(snapshot.tests)
        test_spends.update(self._worker_tests)
        outside = snapshot.outside.copy()
        if self.xdist is not None:
            outside.merge(self.xdist.outside)
        # The run is its parts: tests plus outside tests, summed exactly in any order.
        run = outside.copy()
        for spend in test_spends.values():
            run.merge(spend)

        tests: dict[str, TestSummary] = {}
        for nodeid, outcome in self._outcomes.items():
            spend = test_spends.get(nodeid, Spend())
            budget = self._budgets.get(nodeid)
            if spend.calls == 0 and budget is None:
                continue
            tests[nodeid] = TestSummary(
                nodeid, outcome, spend, budget, self._violations.get(nodeid)
            )
        # Calls of tests that produced no report (an interrupted run) still count.
        for nodeid, spend in test_spends.items():
            if nodeid not in tests:
                tests[nodeid] = TestSummary(nodeid, "error", spend, self._budgets.get(nodeid),
                                            self._violations.get(nodeid))
        return RunSummary(
            plugin_version=__version__,
            litellm_version=importwatch.installed_litellm_version(),
            price_map=self.settings.price_map,
            run_budget=self.settings.run_budget,
            test_budget=self.settings.test_budget,
            run=run,
            outside=outside,
            tests=tests,
            run_violation=judge_run(run.cost, run.calls, self.settings.run_budget),
            complete=self._complete,
        )

    def _quiet_run(self) -> bool:
        """True for a run with nothing to report: no LiteLLM, no budget, no report file.

        Such a run needs no summary, so it skips importing the report modules.
        """
        return (
            self._bridge is None
            and self.xdist is None
            and not self._worker_tests
            and self.unusable is None
            and self.settings.cost_json is None
            and self.settings.cost_md is None
            and self.settings.baseline is None
            and not self._has_budgets()
        )

    def _has_budgets(self) -> bool:
        return (
            self.settings.run_budget is not None
            or self.settings.test_budget is not None
            or any(budget is not None for budget in self._budgets.values())
        )

    def _run_complete(self, session: pytest.Session, exitstatus: int | pytest.ExitCode) -> bool:
        """True when every collected test ran: no interrupt, -x, --maxfail or budget stop."""
        if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            return False
        if session.shouldfail or session.shouldstop:
            return False
        return len(self._outcomes) >= session.testscollected

    def pytest_sessionfinish(
        self, session: pytest.Session, exitstatus: int | pytest.ExitCode
    ) -> None:
        self._complete = self._run_complete(session, exitstatus)
        if self.proxy_follower is not None and self.xdist is not None:
            # Untagged calls, and calls of no test of this run, go outside tests.
            self.proxy_follower.poll()
        self._settle(None)
        if self.is_worker:
            # pytest-xdist sends workeroutput to the controller after this hook.
            workeroutput = getattr(self.config, "workeroutput", None)
            if workeroutput is not None:
                workeroutput[OUTSIDE_KEY] = self.ledger.snapshot().outside.to_dict()
            return
        with _garbage_collector_paused():
            self._write_reports(session)

    def _write_reports(self, session: pytest.Session) -> None:
        """Build the run summary, and write the Markdown and JSON reports."""
        if self._quiet_run():
            return
        # Built once for every report: for 100,000 calls a build takes about 0.5 s.
        summary = self.build_summary()
        self._final_summary = summary
        self._write_markdown(summary)
        if self.xdist is not None:
            # Warnings of the workers' calls, once for the run; pytest shows warnings
            # raised in this hook in its warnings summary.
            run = summary.run
            self._warn_about_unpriced(run)
            if run.unaccounted_calls:
                self._warn_about_unaccounted(run.unaccounted_calls)
        if self.settings.cost_json is None:
            return
        from .report.json_report import build_document, write_document, write_json

        path = self.settings.cost_json
        modify_report = self.config.hook.pytest_llmcost_modify_report
        if modify_report.get_hookimpls():
            document = build_document(summary)
            try:
                modify_report(report=document)
            except Exception as error:
                self._hook_error(
                    None,
                    f"pytest_llmcost_modify_report raised {type(error).__name__}: {error}; "
                    "the JSON report was written without its changes",
                )
                document = build_document(summary)
            write_document(path, document)
        else:
            # Nothing changes the document, so each test's entry is built as it is written.
            write_json(path, summary)
        self._json_written = str(path)
        if self._hook_errors.get(None) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or (self._final_summary is None and self._quiet_run()):
            return
        summary = self._final_summary or self.build_summary()
        if (
            not summary.has_activity
            and self._json_written is None
            and self._markdown_written is None
            and self.settings.baseline is None
            and self.unusable is None
        ):
            return
        from .report.comparison import baseline_lines
        from .report.terminal import summary_lines

        terminalreporter.write_sep("=", "LLM cost")
        for line in summary_lines(summary, self.settings.cost_top):
            terminalreporter.write_line(line)
        if not summary.complete:
            terminalreporter.write_line(
                "the run ended early: these numbers cover the tests that ran", yellow=True
            )
        if self.settings.baseline is not None:
            comparison = self._compare_with_baseline(summary)
            for line in baseline_lines(self.settings.baseline, comparison, self.settings.cost_top):
                terminalreporter.write_line(line)
        if self._json_written is not None:
            terminalreporter.write_line(f"JSON report: {self._json_written}")
        if self._markdown_written is not None:
            terminalreporter.write_line(f"Markdown report: {self._markdown_written}")
        if self._session is not None and self._stop_message is not None:
            # Calls in flight on other workers may have spent more after the run stopped.
            # pytest's closing line then shows the final spend, as the FAIL line does.
            final = summary.run_violation.message if summary.run_violation else self._stop_message
            if self._session.shouldfail == self._stop_message:
                self._session.shouldfail = final
        if summary.run_violation is not None:
            message = summary.run_violation.message
            terminalreporter.write_line(f"FAIL {message}", red=True, bold=True)
        elif self._stop_message is not None:
            terminalreporter.write_line(f"FAIL {self._stop_message}", red=True, bold=True)
        for message in self._hook_errors.get(None, []):
            terminalreporter.write_line(f"ERROR {message}", red=True, bold=True)
        if self.unusable is not None and self._has_budgets():
            terminalreporter.write_line(f"FAIL budgets not enforced: {self.unusable}", red=True,
                                        bold=True)

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
            fail_report(report, message, section="LLM baseline")

    def _baseline_run_message(self) -> str | None:
        """Return the failure of a run whose total cost grew over the baseline's, or `None`."""
        if self.settings.baseline is None:
            return None
        cost, _ = self._run_totals()
        return self.settings.baseline.failure_of_run(cost)

    def _compare_with_baseline(self, summary: RunSummary) -> Comparison | None:
        if self.settings.baseline is None:
            return None
        from .baseline import costs_of_summary

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
        from .report.markdown import render_markdown

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


def _hook_amount(value: object) -> Decimal | None:
    """Return a hook's result as dollars, or `None` for a string, boolean or bad number."""
    if isinstance(value, (str, bool)) or not isinstance(value, (int, float, Decimal)):
        return None
    try:
        return parse_usd(value, "hook")
    except InvalidAmountError:
        return None


def _time_left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


@contextlib.contextmanager
def _garbage_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, unless it is already off, for the block.

    The reports allocate several objects per test and create no reference
    cycle, so reference counting frees what they drop. With the collector on,
    these allocations set off collections that walk every object of the pytest
    process: for 100,000 calls they took 0.5 to 1.3 s of the 1 to 2 s that
    building the run summary took (bench/report_scale.py, 2-core AMD EPYC at a
    load of 3). A cycle made meanwhile, such as by a report hook, is collected
    after the block.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _running_asyncio_loop() -> bool:
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:  # no loop can run before asyncio is imported
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True



def _write_report_file(path: Path, text: str, what: str, append: bool) -> bool:
    """Write or append a report; a failure is a warning, so the run's outcome is unchanged."""
    from .report.files import append_text, write_atomically

    try:
        if append:
            append_text(path, text)
        else:
            write_atomically(path, text)
    except OSError as error:
        from .errors import LLMCostWarning

        warnings.warn(
            LLMCostWarning(f"pytest-llmcost could not write the {what} to {str(path)!r}: {error}"),
            stacklevel=1,
        )
        return False
    return True
