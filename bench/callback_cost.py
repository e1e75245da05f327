"""Breakdown of the per-call cost: LiteLLM's work for any logger versus the plugin's callback.

Run: python bench/callback_cost.py [--repeat N]

In one process, without pytest, blocks of `mock_response` calls run with no
logger registered, with a logger whose hooks do nothing, and with the
plugin's callback booking into a ledger. The three alternate block by block,
so machine noise hits them alike. The difference between the first two is
what LiteLLM itself spends on any registered logger, such as building the
logging payload and running success handlers. The difference between the last
two is the plugin's own code.

Timings on a busy machine vary by more than these differences, so the script
also counts the Python function calls made per LiteLLM call, on all threads,
in a second process. The counts do not depend on the machine's load.
"""

from __future__ import annotations

import asyncio
import collections
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import harness

BLOCK = 200  # calls per block and kind

# Before LiteLLM's import: load the bundled price map, do not fetch one.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import litellm
from litellm.integrations.custom_logger import CustomLogger

from pytest_llmcost import litellm_bridge
from pytest_llmcost.accounting import Accountant
from pytest_llmcost.ledger import Ledger

MESSAGES = [{"role": "user", "content": "Hello"}]


class NoOpLogger(CustomLogger):  # type: ignore[misc]
    """Overrides the hooks the plugin overrides, and does nothing in them."""

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        pass

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        pass

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        pass

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        pass

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        pass


LOGGERS: dict[str, Callable[[], object | None]] = {
    "no logger": lambda: None,
    "no-op logger": NoOpLogger,
    "plugin callback": lambda: litellm_bridge.CostCallback(Accountant(Ledger())),
}


def sync_block() -> float:
    """Return seconds per call of a block of sync calls, until LiteLLM's logging is idle."""
    start = time.perf_counter()
    for _ in range(BLOCK):
        litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response="Hi there")
    litellm_bridge.wait_for_logging_executor(5.0)
    return (time.perf_counter() - start) / BLOCK


async def async_block() -> float:
    """Return seconds per call of a block of async calls, until LiteLLM's logging is drained."""
    start = time.perf_counter()
    for _ in range(BLOCK):
        await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, mock_response="Hi there")
    await litellm_bridge.drain_async_logging(5.0)
    return (time.perf_counter() - start) / BLOCK


def count_calls() -> None:
    """Print the Python function calls per LiteLLM call for each logger, on all threads.

    The profile function is installed before the first call, so that it also
    runs in the logging threads LiteLLM starts on first use.
    """
    counts: collections.Counter[bool] = collections.Counter()
    counting = [False]

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if counting[0] and event == "call":
            counts[threading.current_thread() is threading.main_thread()] += 1

    threading.setprofile(profile)
    sys.setprofile(profile)
    sync_block()
    asyncio.run(async_block())

    print(f"{'logger':<16} {'sync call':>10} {'vs none':>8} {'async call':>11} {'vs none':>8}")
    base: dict[str, float] = {}
    for name, make in LOGGERS.items():
        logger = make()
        if logger is not None:
            litellm.logging_callback_manager.add_litellm_callback(logger)
        sync_block()  # warm-up with this logger
        asyncio.run(async_block())
        per_call = {}
        for kind in ("sync", "async"):
            counts.clear()
            counting[0] = True
            if kind == "sync":
                sync_block()
            else:
                asyncio.run(async_block())
            counting[0] = False
            per_call[kind] = (counts[True] + counts[False]) / BLOCK
        if logger is not None:
            litellm.logging_callback_manager.remove_callback_from_all_lists(logger)
        base = base or per_call
        print(
            f"{name:<16} {per_call['sync']:10,.0f} {per_call['sync'] / base['sync']:7.3f}x "
            f"{per_call['async']:11,.0f} {per_call['async'] / base['async']:7.3f}x"
        )
    sys.setprofile(None)
    threading.setprofile(None)  # type: ignore[arg-type]


def main() -> None:
    if sys.argv[1:] == ["--count-calls"]:
        count_calls()
        return
    arguments = harness.parse_args(
        __doc__.splitlines()[0], default_repeat=12, repeat_help="timed blocks of each logger"
    )
    harness.header(
        f"per-call breakdown, blocks of {BLOCK} calls, {arguments.repeat} blocks per kind "
        "and logger, interleaved"
    )
    sync_block()  # warm-up
    asyncio.run(async_block())

    results: dict[str, dict[str, list[float]]] = {
        name: {"sync": [], "async": []} for name in LOGGERS
    }
    names = list(LOGGERS)
    for index in range(arguments.repeat):
        for name in names if index % 2 == 0 else names[::-1]:
            logger = LOGGERS[name]()
            if logger is not None:
                litellm.logging_callback_manager.add_litellm_callback(logger)
            try:
                results[name]["sync"].append(sync_block())
                results[name]["async"].append(asyncio.run(async_block()))
            finally:
                if logger is not None:
                    litellm.logging_callback_manager.remove_callback_from_all_lists(logger)

    base = {kind: harness.median(results["no logger"][kind]) for kind in ("sync", "async")}
    print(f"{'logger':<16} {'sync call':>10} {'vs none':>8} {'async call':>11} {'vs none':>8}")
    for name in names:
        sync = harness.median(results[name]["sync"])
        asynchronous = harness.median(results[name]["async"])
        print(
            f"{name:<16} {sync * 1000:7.3f} ms {sync / base['sync']:7.3f}x "
            f"{asynchronous * 1000:8.3f} ms {asynchronous / base['async']:7.3f}x"
        )
    print(f"load average after the runs: {harness.load_average()}")

    print()
    print("Python function calls per LiteLLM call, all threads:", flush=True)
    subprocess.run([sys.executable, __file__, "--count-calls"], check=True)


if __name__ == "__main__":
    main()
