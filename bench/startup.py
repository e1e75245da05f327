"""Start-up cost: `pytest --co -q` on a generated 500-test suite that never imports LiteLLM.

Run: python bench/startup.py [--repeat N]

The plugin is loaded in every pytest run of an environment where it is
installed, so a suite that does not use LiteLLM should not notice it. The
suite is 25 modules of 20 tests; the wall time of the whole pytest process
is compared with and without the plugin.
"""

from __future__ import annotations

import harness

MODULES = 25
TESTS_PER_MODULE = 20
TARGET = 1.02


def suite() -> dict[str, str]:
    files = {}
    for module in range(MODULES):
        tests = "\n".join(
            f"def test_case_{index}():\n    assert {index} + 1 == {index + 1}\n"
            for index in range(TESTS_PER_MODULE)
        )
        files[f"test_module_{module}.py"] = tests
    return files


def main() -> None:
    arguments = harness.parse_args(__doc__.splitlines()[0], default_repeat=21)
    harness.require_plugin()
    harness.header(
        f"start-up, pytest --co -q on {MODULES * TESTS_PER_MODULE} tests, "
        f"{arguments.repeat} runs per side, interleaved"
    )

    directory = harness.make_suite(suite())
    # Warm-up: writes the modules' bytecode and fills the file cache for both sides.
    for flags in harness.SIDES.values():
        harness.run_pytest(directory, ["--co", "-q", *flags])

    runs = harness.run_interleaved(
        arguments.repeat, lambda side, flags: harness.run_pytest(directory, ["--co", "-q", *flags])
    )
    harness.print_rows(
        [
            harness.row("wall time of pytest --co -q", runs, lambda run: run.wall, TARGET),
            harness.row("CPU time of pytest --co -q", runs, lambda run: run.cpu, None),
        ]
    )

if __name__ == "__main__":
    main()
