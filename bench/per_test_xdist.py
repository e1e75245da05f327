"""Per-test cost under pytest-xdist: the per-test suite of per_test.py run with `-n 2`.

Run: python bench/per_test_xdist.py [--repeat N]

Both sides run `pytest -n 2`; only the plugin differs. The test loop is timed
on the controller, so it includes starting the two workers and their
collection, `import litellm` included, which is the same on both sides.
The per-test rows sum the call phases that the workers report.
"""

from __future__ import annotations

import sys

import harness
import per_test

TARGET = 1.05


def main() -> None:
    arguments = harness.parse_args(__doc__.splitlines()[0], default_repeat=3)
    harness.require_plugin()
    harness.header(
        f"per test under pytest -n 2, {2 * per_test.TESTS_PER_KIND:,} tests of one call each, "
        f"{arguments.repeat} runs per side, interleaved"
    )

    directory = harness.make_suite(per_test.suite())
    # Warm-up, and proof that the plugin on the workers priced every call: each
    # call costs $0.0000135, so a test budget of $0.00001 fails every test. The
    # controller's JSON report does not include the workers' calls yet.
    tests = 2 * per_test.TESTS_PER_KIND
    run = harness.run_pytest(
        directory, ["-n", "2", "--llm-test-budget=0.00001"], expected_exit=1
    )
    if f"{tests} failed" not in run.output:
        sys.exit(f"expected all {tests} tests over their budget:\n{run.output[-2000:]}")
    harness.run_pytest(directory, ["-n", "2", "-p", "no:llmcost"])

    runs = harness.run_interleaved(
        arguments.repeat,
        lambda side, flags: harness.run_pytest(directory, ["-n", "2", *flags], timed=True),
    )
    harness.print_rows(per_test.rows(runs, "-n 2: ", TARGET))


if __name__ == "__main__":
    main()
