"""Shared parts of the benchmark scripts: running pytest on both sides, medians and tables.

Every script compares the plugin on ("plugin") with `-p no:llmcost` ("no plugin")
in one invocation. Runs alternate between the sides, and the order flips each
repetition, so that slow phases of the machine hit both sides alike. Results
are medians over the repetitions.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SIDES: dict[str, tuple[str, ...]] = {
    "plugin": (),
    "no plugin": ("-p", "no:llmcost"),
}

# Arguments of every measured run, on both sides: no cache files, and no
# third-party deprecation warnings in the output.
COMMON_ARGS = (
    "-p", "no:cacheprovider",
    "-W", "ignore::DeprecationWarning",
    "-W", "ignore::UserWarning",
)

INI = """\
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
"""

# Written into a generated suite's directory. It records the duration of each
# test's call phase and of the whole test loop in the file named by
# BENCH_TIMINGS. The durations include the plugin's hooks and its wait for
# LiteLLM's cost events: the call phase's `report.duration` wraps every
# pytest_runtest_call implementation, and the loop wrapper is tryfirst, so it
# runs outside the plugin's own pytest_runtestloop wrapper.
#
# With BENCH_COUNT_CALLS=1 it also counts the Python function calls made
# during the test loop, on all threads: a measure of work that, unlike time,
# does not depend on the machine's load. The profile function is installed
# when pytest imports this file, before LiteLLM starts its logging threads.
TIMING_CONFTEST = '''\
import json
import os
import sys
import threading
import time

import pytest

_durations = {}
_loop = {}
_calls_per_thread = {}
_counting = [False]


def _profile(frame, event, arg):
    if _counting[0] and event == "call":
        thread = threading.get_ident()
        _calls_per_thread[thread] = _calls_per_thread.get(thread, 0) + 1


if os.environ.get("BENCH_COUNT_CALLS") == "1":
    threading.setprofile(_profile)
    sys.setprofile(_profile)


def pytest_runtest_logreport(report):
    if report.when == "call":
        _durations[report.nodeid] = report.duration


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session):
    start = time.perf_counter()
    _counting[0] = True
    try:
        return (yield)
    finally:
        _counting[0] = False
        _loop["seconds"] = time.perf_counter() - start


def pytest_unconfigure(config):
    path = os.environ.get("BENCH_TIMINGS")
    if path and not hasattr(config, "workerinput"):
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(
                {
                    "loop": _loop.get("seconds"),
                    "calls": _durations,
                    "python_calls": sum(_calls_per_thread.values()),
                },
                stream,
            )
'''


@dataclass
class Run:
    """One pytest run: wall and CPU time of the process, and what the timing conftest recorded."""

    wall: float
    cpu: float
    output: str = ""
    loop: float | None = None
    call_durations: dict[str, float] = field(default_factory=dict)
    python_calls: int = 0


def parse_args(
    description: str, default_repeat: int, repeat_help: str = "measured runs of each side"
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--repeat",
        type=int,
        default=default_repeat,
        help=f"{repeat_help} (default {default_repeat})",
    )
    arguments = parser.parse_args()
    if arguments.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {arguments.repeat}")
    return arguments


def require_plugin() -> None:
    """Exit with a message unless this Python can load pytest-llmcost and pytest-xdist."""
    missing = [
        name for name in ("pytest_llmcost", "xdist", "pytest_asyncio", "litellm")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        sys.exit(
            f"{sys.executable} cannot import {', '.join(missing)}: run the benchmarks with the "
            'Python of a virtual environment where `pip install -e ".[test]"` installed the plugin'
        )


def environment() -> dict[str, str]:
    """Return the environment of the pytest runs, the same for both sides.

    LITELLM_LOCAL_MODEL_COST_MAP is set for both sides, so that LiteLLM loads its
    bundled price map on import instead of fetching one over the network. The
    plugin leaves a value the user set alone.

    PYTHONDONTWRITEBYTECODE is removed, so that the runs use bytecode caches as
    a default Python does. Without them every run compiles the plugin's modules
    from source, and pytest, which rewrites the asserts of every module of a
    package that has a pytest11 entry point, parses and rewrites them again.
    """
    env = dict(os.environ)
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    for name in (
        "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
        "PYTHONDONTWRITEBYTECODE",
    ):
        env.pop(name, None)
    return env


def make_suite(files: dict[str, str]) -> Path:
    """Write a test suite into a new temporary directory and return the directory."""
    directory = Path(tempfile.mkdtemp(prefix="llmcost-bench-"))
    (directory / "pytest.ini").write_text(INI, encoding="utf-8")
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def run_pytest(
    directory: Path,
    args: Sequence[str],
    timed: bool = False,
    expected_exit: int = 0,
    count_calls: bool = False,
) -> Run:
    """Run pytest in `directory` in a new process; exit unless pytest exits with `expected_exit`.

    With `timed` (or `count_calls`), read what the timing conftest recorded.
    """
    env = environment()
    timings = directory / "timings.json"
    timed = timed or count_calls
    if timed:
        env["BENCH_TIMINGS"] = str(timings)
        timings.unlink(missing_ok=True)
    if count_calls:
        env["BENCH_COUNT_CALLS"] = "1"
    command = [sys.executable, "-m", "pytest", *COMMON_ARGS, *args]

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    if result.returncode != expected_exit:
        sys.exit(
            f"pytest failed with exit code {result.returncode}: {' '.join(command)}\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    run = Run(wall, cpu, result.stdout)
    if timed:
        recorded = json.loads(timings.read_text(encoding="utf-8"))
        run.loop = recorded["loop"]
        run.call_durations = recorded["calls"]
        run.python_calls = recorded["python_calls"]
    return run


def run_interleaved(repeat: int, measure: Callable[[str, tuple[str, ...]], Run]) -> dict[str, list[Run]]:
    """Run `measure` `repeat` times per side, alternating sides and flipping the order."""
    runs: dict[str, list[Run]] = {side: [] for side in SIDES}
    names = list(SIDES)
    for index in range(repeat):
        order = names if index % 2 == 0 else names[::-1]
        for side in order:
            run = measure(side, SIDES[side])
            runs[side].append(run)
            print(f"  run {index + 1}/{repeat} {side:>9}: {run.wall:7.3f} s wall", flush=True)
    return runs


def check_report(path: Path, calls: int) -> None:
    """Exit unless the plugin's JSON report counts `calls` priced calls and no unaccounted one."""
    totals = json.loads(path.read_text(encoding="utf-8"))["totals"]
    if totals["calls"] != calls or totals["unaccounted_calls"] or totals["unpriced_calls"]:
        sys.exit(f"the plugin's report does not count {calls} priced calls: {totals}")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass
class Row:
    """One metric of a results table: its value in each run of each side, and its target ratio.

    `plugin[i]` and `no_plugin[i]` come from the same repetition, run back to back.
    """

    metric: str
    plugin: Sequence[float]
    no_plugin: Sequence[float]
    target: float | None
    unit: str = "s"

    @property
    def ratio(self) -> float:
        """Median of the plugin runs over median of the runs without it."""
        return median(self.plugin) / median(self.no_plugin)

    @property
    def paired_ratio(self) -> float:
        """Median of the ratios of the two runs of each repetition; less sensitive to drift."""
        return median([on / off for on, off in zip(self.plugin, self.no_plugin)])


def row(
    metric: str,
    runs: dict[str, list[Run]],
    value: Callable[[Run], float],
    target: float | None,
    unit: str = "s",
) -> Row:
    """Build a `Row` from one value of every run of both sides."""
    return Row(
        metric,
        [value(run) for run in runs["plugin"]],
        [value(run) for run in runs["no plugin"]],
        target,
        unit,
    )


def print_rows(rows: Sequence[Row]) -> None:
    """Print medians and ratios (plugin / no plugin), and whether each target is met."""
    print()
    print(
        f"{'metric':<30} {'plugin':>11} {'no plugin':>11} {'ratio':>7} {'paired':>7} "
        f"{'target':>7}  verdict"
    )
    for row in rows:
        target = f"{row.target:.2f}x" if row.target is not None else "-"
        if row.target is None:
            verdict = ""
        else:
            verdict = "ok" if row.ratio <= row.target else "MISSED"
        print(
            f"{row.metric:<30} {_format(median(row.plugin), row.unit):>11} "
            f"{_format(median(row.no_plugin), row.unit):>11} {row.ratio:6.3f}x "
            f"{row.paired_ratio:6.3f}x {target:>7}  {verdict}"
        )
    print()
    print("ratio: median with the plugin / median without it; paired: median of the")
    print("per-repetition ratios. Verdicts use the ratio.")
    print(f"load average after the runs: {load_average()}")


def _format(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value * 1000:.3f} ms"
    return f"{value:.3f} s"


def machine_description() -> str:
    """Return one line naming the cores, CPU, Python, LiteLLM and pytest of this machine."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {
        name: _version(name) for name in ("litellm", "pytest", "pytest-xdist", "pytest-llmcost")
    }
    packages = ", ".join(f"{name} {value}" for name, value in versions.items())
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {packages}"
    )


def load_average() -> str:
    """Return the 1-minute load average and the cores, such as '0.12 on 2 cores'."""
    try:
        one_minute = os.getloadavg()[0]
    except OSError:
        return "unknown"
    return f"{one_minute:.2f} on {os.cpu_count()} cores"


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def header(title: str) -> None:
    print(title)
    print(machine_description())
    print(f"load average before the runs: {load_average()}")
    print(flush=True)
