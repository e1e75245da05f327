"""Cost per call of the run total that pytest-xdist workers share, in one process.

Books the same calls in a plain `Ledger` and in a `Ledger` whose every booking
also goes to the SQLite run total, with the run-budget check before each call,
as a worker does under `--llm-budget`. Prints the time per call of both and
their ratio (medians of `--repeat` blocks, alternating the two sides).

    python bench/shared_ledger.py [--calls N] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from pytest_llmcost.budgets import Budget
from pytest_llmcost.ledger import Ledger, Location
from pytest_llmcost.shared_ledger import SharedRunTotal
from pytest_llmcost.spend import CallRecord
from pytest_llmcost.spendgate import SpendGate

LOCATION = Location("test_bench.py::test_calls", "call")


def book_calls(ledger: Ledger, gate: SpendGate, calls: int, offset: int) -> float:
    """Return the seconds per call to check the budget, start and settle `calls` calls."""
    started = time.perf_counter()
    for index in range(offset, offset + calls):
        gate.check(LOCATION)
        ledger.start(index, LOCATION, "openai/gpt-4o-mini", "completion", False, None)
        ledger.settle(
            index,
            CallRecord(LOCATION.nodeid, "call", "openai/gpt-4o-mini", "completion", False,
                       "success", Decimal("0.00045"), 1000, 500),
        )
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()

    budget = Budget(Decimal(1_000_000), "cli")
    with tempfile.TemporaryDirectory() as directory:
        shared = SharedRunTotal.create(Path(directory) / "run-total.sqlite3")
        plain_times, shared_times = [], []
        for repetition in range(options.repeat):
            plain = Ledger()
            plain_gate = SpendGate(plain, budget)
            with_shared = Ledger()
            with_shared.on_booked = shared.add
            shared_gate = SpendGate(with_shared, budget)
            shared_gate.run_spent = shared.total
            offset = repetition * options.calls
            sides = [(plain, plain_gate, plain_times), (with_shared, shared_gate, shared_times)]
            if repetition % 2:
                sides.reverse()
            for ledger, gate, times in sides:
                times.append(book_calls(ledger, gate, options.calls, offset))

    plain_median = statistics.median(plain_times)
    shared_median = statistics.median(shared_times)
    print(f"calls per block: {options.calls}, blocks per side: {options.repeat}")
    print(f"run budget, one process:      {plain_median * 1e6:8.1f} µs per call")
    print(f"run budget shared in SQLite:  {shared_median * 1e6:8.1f} µs per call")
    print(f"ratio: {shared_median / plain_median:.2f}x, "
          f"added {(shared_median - plain_median) * 1e6:.1f} µs per call")


if __name__ == "__main__":
    main()
