"""Booking the calls a LiteLLM proxy reports in its cost log (--llm-proxy-log).

The `ProxyFollower` reads the lines the proxy's callback appends while the
tests run, on a thread of its own, and books each call in the ledger like an
in-process call. A request the proxy started is pending in its test until its
settled line arrives, so the test's verdict waits for it.
A request that never settles becomes unaccounted. A line tagged with a test
id is charged to that test. An untagged line is charged to the test that was
running when the proxy started the request, or to the calls outside tests.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .ledger import OUTSIDE, Ledger, Location
from .proxy_log import (
    InvalidLineError,
    LineReader,
    SettledLine,
    parse_settled,
    parse_started,
    started_path,
)
from .spend import CallRecord, Phase

# How often the thread looks for new lines, in seconds.
POLL_INTERVAL = 0.01


class Timeline:
    """The tests and phases in the order they ran, to place a call known only by its time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: list[float] = []
        self._locations: list[Location] = []

    def enter(self, location: Location, moment: float | None = None) -> None:
        with self._lock:
            self._times.append(time.time() if moment is None else moment)
            self._locations.append(location)

    def location_at(self, moment: float) -> Location:
        with self._lock:
            index = bisect.bisect_right(self._times, moment) - 1
            return self._locations[index] if index >= 0 else OUTSIDE

    def phase_of(self, nodeid: str, moment: float) -> Phase | None:
        """Return the phase `nodeid` was in at `moment`, or `None` if it was not running."""
        location = self.location_at(moment)
        return location.phase if location.nodeid == nodeid else None


class ProxyFollower:
    """Reads a LiteLLM proxy's cost log and books its calls in `ledger`.

    `owner(test_id)` returns who books the calls tagged with `test_id`. `True`
    means this process, `False` another one (under pytest-xdist, a worker books
    the tests it runs). `None` means an id of no test of this run, whose calls
    go to the calls outside tests. `untagged` says whether this
    process books untagged and unknown lines: a serial run does, by time, and
    a pytest-xdist controller does, as calls outside tests.
    """

    def __init__(
        self,
        path: Path,
        ledger: Ledger,
        owner: Callable[[str], bool | None],
        untagged: bool,
        on_record: Callable[[CallRecord], CallRecord],
        on_settled: Callable[[CallRecord], None],
        on_fault: Callable[[str, Exception], None],
    ) -> None:
        self.path = path
        self.timeline = Timeline()
        self._ledger = ledger
        self._owner = owner
        self._untagged = untagged
        self._on_record = on_record
        self._on_settled = on_settled
        self._on_fault = on_fault
        self._settled_reader = LineReader(path)
        self._started_reader = LineReader(started_path(path))
        # Ledger keys of proxy calls are negative, apart from those of in-process calls.
        self._keys = itertools.count(-1, -1)
        # Ledger key and place of each started request, by LiteLLM call id.
        self._started: dict[str, tuple[int, Location]] = {}
        self._seen: set[tuple[str, str]] = set()
        self._read_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._follow, name="llmcost-proxy-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.poll()

    def _follow(self) -> None:
        while not self._stop.wait(POLL_INTERVAL):
            self.poll()

    def poll(self) -> None:
        """Book the lines appended since the last poll."""
        with self._read_lock:
            try:
                started = self._started_reader.read_lines()
                settled = self._settled_reader.read_lines()
            except Exception as error:  # never let a bad file stop the thread
                self._on_fault(f"reading {self.path}", error)
                return
            for text in started:
                try:
                    self._book_started(text)
                except Exception as error:  # a fault must never stop the following
                    self._on_fault(f"booking a line of {started_path(self.path)}", error)
            for text in settled:
                try:
                    self._book_settled(text)
                except Exception as error:
                    self._on_fault(f"booking a line of {self.path}", error)

    def _book_started(self, text: str) -> None:
        try:
            line = parse_started(text)
        except InvalidLineError as error:
            self._on_fault(f"a line of {started_path(self.path)}", error)
            return
        if line.call_id in self._started:
            return  # a retry of the same request
        location = self._place(line.test, line.time)
        if location is None:
            return
        key = next(self._keys)
        self._started[line.call_id] = (key, location)
        self._ledger.start(key, location, line.model, "proxy", line.stream, line.call_id,
                           via_proxy=True)

    def _book_settled(self, text: str) -> None:
        try:
            line = parse_settled(text)
        except InvalidLineError as error:
            self._on_fault(f"a line of {self.path}", error)
            if self._untagged:
                self._book(next(self._keys), _unreadable(self.timeline.location_at(time.time())))
            return
        if line.call_id is not None:
            seen = (line.call_id, line.status)
            if seen in self._seen:
                return
            self._seen.add(seen)
        started = self._started.pop(line.call_id, None) if line.call_id is not None else None
        if started is not None:
            # Booked where the request started, which is where the ledger waits for it.
            key, location = started
        else:
            place = self._place(line.test, line.time)
            if place is None:
                return
            key, location = next(self._keys), place
        self._book(key, _record(line, location))

    def _place(self, test: str | None, moment: float) -> Location | None:
        """Return where a call belongs, or `None` if another process books it.

        A tagged call belongs to its test, an untagged one to the test that
        was running at `moment`: when the proxy started the request, or, with
        no record of its start, when the proxy settled it.
        """
        if test is not None:
            owner = self._owner(test)
            if owner:
                return Location(test, self.timeline.phase_of(test, moment))
            return OUTSIDE if owner is None and self._untagged else None
        return self.timeline.location_at(moment) if self._untagged else None

    def _book(self, key: int, record: CallRecord) -> None:
        if record.cost_usd is None and record.status != "unaccounted":
            record = self._on_record(record)
        if self._ledger.settle(key, record):
            self._on_settled(record)


def _record(line: SettledLine, location: Location) -> CallRecord:
    cost = line.cost_usd
    return CallRecord(
        nodeid=location.nodeid,
        phase=location.phase,
        model=line.model,
        call_type=line.call_type,
        stream=line.stream,
        status=line.status,
        cost_usd=cost,
        prompt_tokens=line.prompt_tokens,
        completion_tokens=line.completion_tokens,
        cache_hit=line.cache_hit,
        litellm_call_id=line.call_id,
        zero_usage=line.zero_usage,
        price_source="litellm" if cost is not None else None,
        via_proxy=True,
    )


def _unreadable(location: Location) -> CallRecord:
    return CallRecord(location.nodeid, location.phase, "unknown", "unknown", False,
                      "unaccounted", None, 0, 0, via_proxy=True)
