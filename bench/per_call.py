"""Per-call cost: 2,000 sync and 2,000 async LiteLLM calls answered by `mock_response`.

Run: python bench/per_call.py [--repeat N]

`test_sync_calls` makes 2,000 `litellm.completion` calls and `test_async_calls`
(pytest-asyncio) 2,000 `litellm.acompletion` calls; LiteLLM answers each from
`mock_response` without any network. The measure is each test's call phase,
which includes the plugin's callback on every call and its wait, at the end
of the phase, for LiteLLM to report the last costs. The sync and async calls
are in two tests so that each kind gets its own ratio.
"""

from __future__ import annotations

import harness

CALLS = 2000
TARGET = 1.05

SUITE = f'''\
import litellm
import pytest

CALLS = {CALLS}
MESSAGES = [{{"role": "user", "content": "Hello"}}]


def test_sync_calls():
    for _ in range(CALLS):
        litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response="Hi there")


@pytest.mark.asyncio
async def test_async_calls():
    for _ in range(CALLS):
        await litellm.acompletion(
            model="gpt-4o-mini", messages=MESSAGES, mock_response="Hi there"
        )
'''

SYNC = "test_calls.py::test_sync_calls"
ASYNC = "test_calls.py::test_async_calls"


def main() -> None:
    arguments = harness.parse_args(__doc__.splitlines()[0], default_repeat=5)
    harness.require_plugin()
    harness.header(
        f"per call, {CALLS:,} sync and {CALLS:,} async calls, "
        f"{arguments.repeat} runs per side, interleaved"
    )

    directory = harness.make_suite({"conftest.py": harness.TIMING_CONFTEST, "test_calls.py": SUITE})
    # Warm-up, and proof that the plugin saw and priced every call.
    harness.run_pytest(directory, ["--llm-cost-json=cost.json"])
    harness.check_report(directory / "cost.json", 2 * CALLS)

    runs = harness.run_interleaved(
        arguments.repeat, lambda side, flags: harness.run_pytest(directory, flags, timed=True)
    )

    def sync(run: harness.Run) -> float:
        return run.call_durations[SYNC] / CALLS

    def asynchronous(run: harness.Run) -> float:
        return run.call_durations[ASYNC] / CALLS

    def both(run: harness.Run) -> float:
        return (run.call_durations[SYNC] + run.call_durations[ASYNC]) / (2 * CALLS)

    harness.print_rows(
        [
            harness.row("sync call", runs, sync, TARGET, "ms"),
            harness.row("async call", runs, asynchronous, TARGET, "ms"),
            harness.row("sync and async call", runs, both, TARGET, "ms"),
            harness.row("wall time of the run", runs, lambda run: run.wall, None),
        ]
    )

if __name__ == "__main__":
    main()
