"""Report scale: time and peak memory of the end-of-run reports for 1,000 to 100,000 calls.

Run: python bench/report_scale.py [--repeat N]

A pytest configuration with the plugin is set up in this process (no test
runs and LiteLLM is not imported). The plugin's tracker books generated
`CallRecord`s in its ledger, as its callback does, and then its own
`pytest_sessionfinish` (summary and JSON report) and `pytest_terminal_summary`
(summary and terminal lines) are timed. Time and memory per call should stay
flat as the number of calls grows tenfold.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import harness
import pytest
from _pytest.config import _prepareconfig

from pytest_llmcost.ledger import Location
from pytest_llmcost.plugin import TRACKER_KEY, CostTracker
from pytest_llmcost.spend import CallRecord

SIZES = (1_000, 10_000, 100_000)
CALLS_PER_TEST = 2
TESTS_PER_MODULE = 50
TIME_TARGET = 2.0  # seconds for the largest size
MEMORY_TARGET = 200 * 1024 * 1024  # bytes for the largest size

# (model, prompt tokens, completion tokens, cost) of the generated calls. The costs
# follow LiteLLM's bundled prices: gpt-4o-mini 1.5e-07 and 6e-07 per input and
# output token, claude-haiku-4-5 1e-06 and 5e-06, text-embedding-3-small 2e-08.
CALL_SHAPES = (
    ("openai/gpt-4o-mini", "completion", 1000, 500, Decimal("0.00045")),
    ("anthropic/claude-haiku-4-5", "acompletion", 1500, 220, Decimal("0.0026")),
    ("openai/text-embedding-3-small", "embedding", 100, 0, Decimal("0.000002")),
)
FAILED_EVERY = 50  # every 50th call fails and costs $0
UNPRICED_EVERY = 200  # every 200th call has no price


class LineCollector:
    """Stands in for pytest's terminal reporter and keeps the lines written to it."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_sep(self, sep: str, title: str = "", **markup: Any) -> None:
        self.lines.append(f"{sep * 3} {title} {sep * 3}")

    def write_line(self, line: str, **markup: Any) -> None:
        self.lines.append(line)


def nodeid_of(test: int) -> str:
    return f"tests/test_module_{test // TESTS_PER_MODULE}.py::test_case_{test % TESTS_PER_MODULE}"


def record_of(key: int, nodeid: str) -> CallRecord:
    model, call_type, prompt, completion, cost = CALL_SHAPES[key % len(CALL_SHAPES)]
    if key % UNPRICED_EVERY == 0:
        return CallRecord(nodeid, "call", "openai/my-finetune", call_type, False, "success",
                          None, prompt, completion, litellm_call_id=f"call-{key}")
    if key % FAILED_EVERY == 0:
        return CallRecord(nodeid, "call", model, call_type, False, "failure",
                          Decimal(0), 0, 0, litellm_call_id=f"call-{key}")
    return CallRecord(nodeid, "call", model, call_type, False, "success",
                      cost, prompt, completion, litellm_call_id=f"call-{key}")


def book_calls(tracker: CostTracker, calls: int) -> None:
    """Book `calls` calls as the callback does (start, then settle), and each test's outcome."""
    # One string per test, shared by its calls, as pytest's item.nodeid is.
    nodeids = [nodeid_of(test) for test in range((calls + CALLS_PER_TEST - 1) // CALLS_PER_TEST)]
    for key in range(calls):
        nodeid = nodeids[key // CALLS_PER_TEST]
        record = record_of(key, nodeid)
        tracker.ledger.start(key, Location(nodeid, "call"), record.model, record.call_type,
                             False, record.litellm_call_id)
        tracker.ledger.settle(key, record)
    for nodeid in nodeids:
        report = pytest.TestReport(nodeid, (nodeid, 0, nodeid), {}, "passed", None, "call")
        tracker.pytest_runtest_logreport(report)


def configure(json_path: Path) -> pytest.Config:
    """Configure pytest with the plugin, as `pytest --llm-cost-json=PATH --llm-cost-md=PATH
    --llm-budget=100` does; the Markdown report goes next to the JSON one."""
    # _prepareconfig is pytest's own entry to parsing a command line; no public
    # function returns a configured Config without running a session.
    config = _prepareconfig(
        ["-p", "no:cacheprovider", f"--llm-cost-json={json_path}",
         f"--llm-cost-md={json_path.with_suffix('.md')}", "--llm-budget=100"]
    )
    config._do_configure()
    return config


def render(tracker: CostTracker) -> tuple[float, float, int]:
    """Run the plugin's end-of-run reports; return their times and the terminal line count."""
    # The hook reads only these attributes of the session, to tell whether the run ended early.
    session = SimpleNamespace(shouldfail=False, shouldstop=False, testscollected=0,
                              exitstatus=pytest.ExitCode.OK)
    start = time.perf_counter()
    tracker.pytest_sessionfinish(session, pytest.ExitCode.OK)  # type: ignore[arg-type]
    json_seconds = time.perf_counter() - start

    collector = LineCollector()
    start = time.perf_counter()
    tracker.pytest_terminal_summary(collector)
    terminal_seconds = time.perf_counter() - start
    return json_seconds, terminal_seconds, len(collector.lines)


def measure_time(calls: int, repeat: int, directory: Path) -> dict[str, float]:
    config = configure(directory / f"time-{calls}.json")
    try:
        tracker = config.stash[TRACKER_KEY]
        start = time.perf_counter()
        book_calls(tracker, calls)
        booking = time.perf_counter() - start

        json_times, terminal_times = [], []
        for _ in range(repeat):
            json_seconds, terminal_seconds, _ = render(tracker)
            json_times.append(json_seconds)
            terminal_times.append(terminal_seconds)
        json_size = (directory / f"time-{calls}.json").stat().st_size
    finally:
        config._ensure_unconfigure()
    return {
        "booking": booking,
        "json": statistics.median(json_times),
        "terminal": statistics.median(terminal_times),
        "json_size": json_size,
    }


def measure_memory(calls: int, directory: Path) -> dict[str, float]:
    """Return traced bytes held by the booked ledger, and the peak up to the end of the reports."""
    config = configure(directory / f"memory-{calls}.json")
    try:
        tracker = config.stash[TRACKER_KEY]
        gc.collect()
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        book_calls(tracker, calls)
        ledger = tracemalloc.get_traced_memory()[0] - baseline
        render(tracker)
        peak = tracemalloc.get_traced_memory()[1] - baseline
        tracemalloc.stop()
    finally:
        config._ensure_unconfigure()
    return {"ledger": ledger, "peak": peak}


def megabytes(count: float) -> str:
    return f"{count / 1024 / 1024:.1f} MB"


def main() -> None:
    arguments = harness.parse_args(
        __doc__.splitlines()[0], default_repeat=5, repeat_help="timed renderings of each size"
    )
    harness.header(
        f"report scale, in-process, median of {arguments.repeat} renderings, tracemalloc for memory"
    )
    directory = Path(tempfile.mkdtemp(prefix="llmcost-bench-"))

    results = {}
    for calls in SIZES:
        timing = measure_time(calls, arguments.repeat, directory)
        memory = measure_memory(calls, directory)
        results[calls] = timing | memory

    print(f"{'calls':>8} {'tests':>7} {'booking':>13} {'JSON':>9} {'terminal':>9} "
          f"{'reports':>9} {'per call':>9} {'ledger':>9} {'peak':>9} {'peak/call':>10}")
    for calls, result in results.items():
        tests = (calls + CALLS_PER_TEST - 1) // CALLS_PER_TEST
        reports = result["json"] + result["terminal"]
        print(
            f"{calls:>8,} {tests:>7,} {result['booking'] / calls * 1e6:>8.1f} us/call "
            f"{result['json']:>7.3f} s {result['terminal']:>7.3f} s {reports:>7.3f} s "
            f"{reports / calls * 1e6:>6.1f} us {megabytes(result['ledger']):>9} "
            f"{megabytes(result['peak']):>9} {result['peak'] / calls:>6.0f} B"
        )

    small, large = results[SIZES[-2]], results[SIZES[-1]]
    factor = SIZES[-1] / SIZES[-2]
    time_growth = (large["json"] + large["terminal"]) / (small["json"] + small["terminal"])
    print()
    print(f"growth from {SIZES[-2]:,} to {SIZES[-1]:,} calls ({factor:g}x): "
          f"reports time {time_growth:.1f}x, peak memory {large['peak'] / small['peak']:.1f}x "
          f"(linear: {factor:g}x)")
    print(f"JSON report for {SIZES[-1]:,} calls: {megabytes(large['json_size'])}")

    reports = large["json"] + large["terminal"]
    verdict = "ok" if reports < TIME_TARGET else "MISSED"
    print(f"reports for {SIZES[-1]:,} calls: {reports:.3f} s, target < {TIME_TARGET:g} s  {verdict}")
    verdict = "ok" if large["peak"] < MEMORY_TARGET else "MISSED"
    print(f"peak memory for {SIZES[-1]:,} calls: {megabytes(large['peak'])}, "
          f"target < {megabytes(MEMORY_TARGET)}  {verdict}")


if __name__ == "__main__":
    main()
