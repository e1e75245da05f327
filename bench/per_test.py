"""Per-test cost: 2,000 tests that make one LiteLLM call each, answered by `mock_response`.

Run: python bench/per_test.py [--repeat N]

Half the tests are sync (`litellm.completion`), half async under pytest-asyncio
(`litellm.acompletion`). The measure is pytest's test loop, timed from outside
the plugin's own hooks. It contains everything the plugin does per test (its
hooks, its wait for LiteLLM to report each call's cost, the report sections)
and leaves out start-up and `import litellm`, which are the same on both sides.
"""

from __future__ import annotations

from pathlib import Path

import harness

TESTS_PER_KIND = 1000
COUNTED_TESTS = 200
TARGET = 1.05

SUITE = f'''\
import litellm
import pytest

MESSAGES = [{{"role": "user", "content": "Hello"}}]


@pytest.mark.parametrize("index", range({TESTS_PER_KIND}))
def test_sync_call(index):
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response="Hi there")


@pytest.mark.asyncio
@pytest.mark.parametrize("index", range({TESTS_PER_KIND}))
async def test_async_call(index):
    await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, mock_response="Hi there")
'''


def suite() -> dict[str, str]:
    return {"conftest.py": harness.TIMING_CONFTEST, "test_calls.py": SUITE}


def phase_total(run: harness.Run, kind: str) -> float:
    """Return the summed call-phase durations of the tests whose name starts with `kind`."""
    return sum(
        duration for nodeid, duration in run.call_durations.items()
        if nodeid.split("::")[1].startswith(kind)
    )


def rows(runs: dict[str, list[harness.Run]], prefix: str, target: float) -> list[harness.Row]:
    def sync(run: harness.Run) -> float:
        return phase_total(run, "test_sync_call") / TESTS_PER_KIND

    def asynchronous(run: harness.Run) -> float:
        return phase_total(run, "test_async_call") / TESTS_PER_KIND

    return [
        harness.row(f"{prefix}test loop", runs, lambda run: run.loop or 0.0, target),
        harness.row(f"{prefix}wall time of the run", runs, lambda run: run.wall, None),
        harness.row(f"{prefix}sync test, call phase", runs, sync, None, "ms"),
        harness.row(f"{prefix}async test, call phase", runs, asynchronous, None, "ms"),
    ]

def print_call_counts(directory: Path) -> None:
    """Print the Python function calls per test, counted in one more run of each side and kind.

    Counting slows the runs down, so each counts the first COUNTED_TESTS tests of one kind.
    """
    print()
    print("Python function calls per test, all threads (independent of the machine's load):")
    for kind in ("test_sync_call", "test_async_call"):
        nodeids = [f"test_calls.py::{kind}[{index}]" for index in range(COUNTED_TESTS)]
        counts = {
            side: harness.run_pytest(directory, [*flags, *nodeids], count_calls=True).python_calls
            for side, flags in harness.SIDES.items()
        }
        print(
            f"  {kind}: plugin {counts['plugin'] / COUNTED_TESTS:,.0f}, "
            f"no plugin {counts['no plugin'] / COUNTED_TESTS:,.0f}, "
            f"ratio {counts['plugin'] / counts['no plugin']:.3f}x"
        )


def main() -> None:
    arguments = harness.parse_args(__doc__.splitlines()[0], default_repeat=4)
    harness.require_plugin()
    harness.header(
        f"per test, {2 * TESTS_PER_KIND:,} tests of one call each, "
        f"{arguments.repeat} runs per side, interleaved"
    )

    directory = harness.make_suite(suite())
    # Warm-up, and proof that the plugin saw and priced every call.
    harness.run_pytest(directory, ["--llm-cost-json=cost.json"])
    harness.check_report(directory / "cost.json", 2 * TESTS_PER_KIND)

    runs = harness.run_interleaved(
        arguments.repeat, lambda side, flags: harness.run_pytest(directory, flags, timed=True)
    )
    harness.print_rows(rows(runs, "", TARGET))
    print_call_counts(directory)


if __name__ == "__main__":
    main()
