"""Everything that touches LiteLLM: the callback, its registration, and draining LiteLLM's queues.

This is the only module that imports LiteLLM. The plugin imports it only once
the code under test has imported LiteLLM, so runs that never use LiteLLM do
not pay its import time.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import litellm
from litellm.exceptions import BudgetExceededError
from litellm.integrations.custom_logger import CustomLogger

from .accounting import Accountant
from .spendgate import SpendGate

# How often `wait_for_logging_executor` rechecks a busy executor, in seconds.
# Every sync test that made a call waits there for LiteLLM's success handler.
# At 0.5 ms the wait took 0.17 ms per test longer than at 0.1 ms, and shorter
# intervals gained nothing measurable (timed over the 1,000 sync tests of
# bench/per_test.py on a 2-core AMD EPYC).
_EXECUTOR_POLL_INTERVAL = 0.0001


class CostCallback(CustomLogger):
    """The LiteLLM callback that reports every call's start and terminal event.

    LiteLLM calls these methods by keyword, so their parameter names must stay
    exactly as LiteLLM's `CustomLogger` spells them.
    """

    def __init__(self, accountant: Accountant, gate: SpendGate | None = None,
                 settle_timeout: float = 5.0) -> None:
        super().__init__()
        # LiteLLM drops a callback whose class name and public str/int/bool attributes
        # equal an already registered one; a unique value keeps each session's instance.
        self.llmcost_instance = uuid.uuid4().hex
        self._accountant = accountant
        self._gate = gate
        self._settle_timeout = settle_timeout

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        if isinstance(kwargs, MutableMapping):
            self._accountant.call_started(model, kwargs)

    async def async_pre_call_deployment_hook(self, kwargs: Any, call_type: Any) -> None:
        """Reject an async call over budget, after booking the costs of calls that returned.

        LiteLLM's synchronous budget check runs first, but in an event loop the costs
        of async calls that already returned wait in LiteLLM's logging queue. Draining
        it here lets a loop of awaited calls stop right after the call that crossed
        the budget.
        """
        gate = self._gate
        if gate is None or not gate.active:
            return
        await drain_async_logging(self._settle_timeout)
        refusal = gate.check(self._accountant.location)
        if refusal is None:
            return
        error = BudgetExceededError(
            current_cost=float(refusal.spent),
            max_budget=float(refusal.budget.amount),
            message=refusal.message,
        )
        # Marks the error as the plugin's own, so its failure event is not counted as a call.
        error.llmcost_refusal = True  # type: ignore[attr-defined]
        raise error

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._ended(kwargs, response_obj, "success", "log_success_event")

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._ended(kwargs, response_obj, "success", "async_log_success_event")

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._ended(kwargs, response_obj, "failure", "log_failure_event")

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._ended(kwargs, response_obj, "failure", "async_log_failure_event")

    def _ended(self, kwargs: Any, response_obj: Any, status: Any, hook: str) -> None:
        if isinstance(kwargs, MutableMapping):
            self._accountant.call_ended(kwargs, response_obj, status, hook)
        else:
            self._accountant.call_ended({}, response_obj, status, hook)


def install(callback: CostCallback) -> None:
    """Register the callback with LiteLLM's callback manager."""
    litellm.logging_callback_manager.add_litellm_callback(callback)


def uninstall(callback: CostCallback) -> None:
    """Remove the callback from every list LiteLLM copied it into."""
    litellm.logging_callback_manager.remove_callback_from_all_lists(callback)
    # LiteLLM copies the callback into input_callback on the first call, but the
    # remove_callback_from_all_lists of 1.108.x skips that list (1.109.0 added it).
    # A callback left there keeps firing in later runs of the same process.
    while callback in litellm.input_callback:
        litellm.input_callback.remove(callback)


def wait_for_logging_executor(timeout: float) -> bool:
    """Wait until LiteLLM's thread pool for sync logging has no queued or running work.

    Sync success events run on that pool after the call returned. Returns at
    once when it is idle; returns `False` if it is still busy at the timeout.
    """
    executor = _logging_executor()
    if executor is None:
        return True
    slots = getattr(executor, "_pending_slots", None)
    capacity = getattr(executor, "_max_pending_tasks", None)
    if slots is None or not isinstance(capacity, int):
        return True

    deadline = time.monotonic() + timeout
    # NOTE: reads the semaphore's counter, a CPython detail, because LiteLLM's
    # BoundedLoggingThreadPoolExecutor has no public "idle" query.
    while getattr(slots, "_value", capacity) < capacity:
        if time.monotonic() >= deadline:
            return False
        time.sleep(_EXECUTOR_POLL_INTERVAL)
    return True


def _logging_executor() -> object | None:
    try:
        from litellm.litellm_core_utils.thread_pool_executor import executor
    except ImportError:
        return None
    return executor


async def drain_async_logging(timeout: float) -> None:
    """Run LiteLLM's pending async logging work in the current event loop.

    Async success events wait in LiteLLM's logging queue, and async stream
    events in bare tasks. Both must run before the test's loop closes, or they
    are cancelled or run only at interpreter exit.
    """
    deadline = time.monotonic() + timeout
    try:
        from litellm.responses.streaming_iterator import drain_logging_tasks
    except ImportError:
        pass  # an older LiteLLM without tracked stream logging tasks
    else:
        await drain_logging_tasks(timeout=max(deadline - time.monotonic(), 0.001))

    worker = _logging_worker()
    if worker is not None:
        try:
            await asyncio.wait_for(worker.flush(), timeout=max(deadline - time.monotonic(), 0.001))
        except asyncio.TimeoutError:
            pass


def _logging_worker() -> Any:
    try:
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
    except ImportError:
        return None
    return GLOBAL_LOGGING_WORKER


def flush_async_logging(timeout: float) -> None:
    """Run LiteLLM's leftover async logging work on a fresh event loop.

    A backstop for events queued by loops that closed before the plugin could
    drain them there. Does nothing when called from inside a running loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return
    worker = _logging_worker()
    queue = getattr(worker, "_queue", None)
    if worker is None or queue is None or queue.qsize() == 0:
        return
    # Not asyncio.run(): it would reset this thread's current event loop, which a
    # module- or session-scoped pytest-asyncio loop may still be using.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_drain_and_stop(worker, timeout))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


async def _drain_and_stop(worker: Any, timeout: float) -> None:
    await drain_async_logging(timeout)
    # The worker now runs a task in this temporary loop: stop it before the loop
    # closes. The next async call starts it again in its own loop.
    if "timeout" in inspect.signature(worker.stop).parameters:
        await worker.stop(timeout=timeout)
    else:  # older releases, such as LiteLLM 1.108.4, take no timeout
        try:
            await asyncio.wait_for(worker.stop(), max(timeout, 0.1))
        except asyncio.TimeoutError:
            pass  # what is still queued is counted as unaccounted after the wait



class _SpendCheck(float):
    """Stands in for `litellm._current_cost` while the plugin enforces budgets.

    LiteLLM runs `if litellm.max_budget and litellm._current_cost > litellm.max_budget`
    before every entry point (completion, embedding, responses, Router calls, sync and
    async) and raises `BudgetExceededError` before sending anything. This comparison
    calls the plugin's `SpendGate` instead. Its text is the spend and the test, which
    LiteLLM puts into the error message.
    """

    llmcost_refusal = True

    def __new__(cls, gate: SpendGate, accountant: Accountant, value: float = 0.0,
                text: str = "") -> _SpendCheck:
        check = super().__new__(cls, value)
        check._gate = gate
        check._accountant = accountant
        check._text = text or repr(value)
        return check

    _gate: SpendGate
    _accountant: Accountant
    _text: str

    def __gt__(self, other: object) -> bool:
        refusal = self._gate.check(self._accountant.location)
        if refusal is None:
            return _previous_limit_exceeded(self._gate)
        # LiteLLM reads both globals again to build the error: give them the numbers.
        litellm._current_cost = _SpendCheck(
            self._gate, self._accountant, float(refusal.spent), refusal.spent_text
        )
        litellm.max_budget = _BudgetLimit(float(refusal.budget.amount), refusal.budget_text)
        return True

    def __add__(self, other: object) -> _SpendCheck:
        # LiteLLM adds to _current_cost for a few call types; the ledger keeps the real total.
        return self

    __radd__ = __add__

    def __str__(self) -> str:
        return self._text

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return self._text if not spec else float.__format__(self, spec)


class _BudgetLimit(float):
    """Stands in for `litellm.max_budget`: always set, so LiteLLM runs its check."""

    def __new__(cls, value: float, text: str) -> _BudgetLimit:
        limit = super().__new__(cls, value)
        limit._text = text
        return limit

    _text: str

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return self._text

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return self._text if not spec else float.__format__(self, spec)


def _previous_limit_exceeded(gate: SpendGate) -> bool:
    """Apply the budget that was in place before ours: the user's, or an outer run's."""
    max_budget, current_cost = gate.saved_litellm_budget or (None, 0.0)
    if not max_budget:
        return False
    try:
        return bool(current_cost > max_budget)  # type: ignore[operator]
    except TypeError:
        return False


def install_gate(gate: SpendGate, accountant: Accountant, timeout: float) -> None:
    """Make LiteLLM's pre-request budget check ask `gate`, keeping the values it replaces."""
    gate.saved_litellm_budget = (litellm.max_budget, litellm._current_cost)
    # Sync costs are booked on LiteLLM's logging threads just after the call returned.
    # Waiting for them never needs the event loop, so it is safe inside one too.
    def wait_for_booked_costs() -> None:
        wait_for_logging_executor(timeout)

    gate.wait_for_booked_costs = wait_for_booked_costs
    litellm._current_cost = _SpendCheck(gate, accountant)
    litellm.max_budget = _BudgetLimit(0.0, "the pytest-llmcost budget")


def uninstall_gate(gate: SpendGate) -> None:
    """Put back the `litellm.max_budget` and `litellm._current_cost` that `install_gate` replaced."""
    if gate.saved_litellm_budget is None:
        return
    max_budget, current_cost = gate.saved_litellm_budget
    litellm.max_budget = max_budget  # type: ignore[assignment]
    litellm._current_cost = current_cost  # type: ignore[assignment]
    gate.saved_litellm_budget = None


def register_prices(prices: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Register custom prices with LiteLLM; returns the entries they replaced, for `restore_prices`."""
    replaced = {model: litellm.model_cost.get(model) for model in prices}
    litellm.register_model(prices)
    return replaced


def restore_prices(replaced: dict[str, Any]) -> None:
    """Put back the price-map entries that `register_prices` replaced."""
    # NOTE: register_model also adds new models to LiteLLM's per-provider model lists;
    # those additions stay, but without a price entry they no longer price anything.
    for model, entry in replaced.items():
        if entry is None:
            litellm.model_cost.pop(model, None)
        else:
            litellm.model_cost[model] = entry
