"""Everything that touches LiteLLM: the callback, its registration, and draining LiteLLM's queues.

This is the only module that imports LiteLLM. The plugin imports it only once
the code under test has imported LiteLLM, so runs that never use LiteLLM do
not pay its import time.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger

from .accounting import Accountant

# How often `wait_for_logging_executor` rechecks a busy executor, in seconds.
# Every sync test that made a call waits there for LiteLLM's success handler.
# At 0.5 ms the wait took 0.17 ms per test longer than at 0.1 ms, and shorter
# intervals gained nothing measurable (timed over the 1,000 sync tests of
# bench/per_test.py on a 2-core AMD EPYC).
_EXECUTOR_POLL_INTERVAL = 0.0001


class CostCallback(CustomLogger):  # type: ignore[misc]  # LiteLLM ships no type stubs
    """The LiteLLM callback that reports every call's start and terminal event.

    LiteLLM calls these methods by keyword, so their parameter names must stay
    exactly as LiteLLM's `CustomLogger` spells them.
    """

    def __init__(self, accountant: Accountant) -> None:
        super().__init__()
        # LiteLLM drops a callback whose class name and public str/int/bool attributes
        # equal an already registered one; a unique value keeps each session's instance.
        self.llmcost_instance = uuid.uuid4().hex
        self._accountant = accountant

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        if isinstance(kwargs, MutableMapping):
            self._accountant.call_started(model, kwargs)

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
        drain_logging_tasks = None
    if drain_logging_tasks is not None:
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
    if worker is None or getattr(worker, "_queue", None) is None:
        return
    # Not asyncio.run(): it would reset this thread's current event loop, which a
    # module- or session-scoped pytest-asyncio loop may still be using.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(drain_async_logging(timeout))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()

