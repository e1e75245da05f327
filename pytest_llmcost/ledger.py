"""The ledger: a thread-safe record of every call, pending and settled, per test and per run.

LiteLLM reports a call's cost on its own threads and event-loop tasks, often
after the call returned. The ledger therefore records where a call started
(`start`) and books its cost when the terminal event arrives (`settle`), and
lets the test wait until its calls have settled (`wait_settled`). It imports
neither pytest nor LiteLLM.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from .money import ZERO
from .spend import CallRecord, Phase, Spend


class Location(NamedTuple):
    """The place of a call: the test's node id and phase, or `None` for both outside tests."""

    nodeid: str | None
    phase: Phase | None


OUTSIDE = Location(None, None)


class _PendingCall(NamedTuple):
    location: Location
    model: str
    call_type: str
    stream: bool
    litellm_call_id: str | None
    via_proxy: bool


@dataclass(frozen=True)
class LedgerSnapshot:
    """An immutable copy of the ledger's totals, for verdicts and reports."""

    run: Spend
    outside: Spend
    tests: dict[str, Spend] = field(default_factory=dict)
    pending_calls: int = 0


class Ledger:
    """Records calls and keeps exact totals per test, outside tests and for the run."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._pending: dict[int, _PendingCall] = {}
        self._pending_per_test: Counter[str | None] = Counter()
        self._settled: set[int] = set()
        # Calls given up as unaccounted at a settle timeout; a late event still books them.
        self._expired: dict[int, CallRecord] = {}
        self._records: list[CallRecord] = []
        self._tests: dict[str, Spend] = {}
        self._outside = Spend()
        self._run = Spend()
        # Called with each booked call, under the ledger's lock: under pytest-xdist it
        # adds the call to the run total shared with other workers.
        self.on_booked: Callable[[CallRecord], None] | None = None

    def start(
        self,
        key: int,
        location: Location,
        model: str,
        call_type: str,
        stream: bool,
        litellm_call_id: str | None,
        via_proxy: bool = False,
    ) -> None:
        """Record that a call began at `location`; its cost is booked by `settle`."""
        with self._condition:
            if key in self._settled:
                return
            pending = self._pending.get(key)
            if pending is not None:
                # LiteLLM's own retries run the pre-call hook again with the same kwargs, and
                # sync `context_window_fallback_dict` does so with the fallback model. The
                # call ends on the model of its last attempt.
                self._pending[key] = pending._replace(model=model)
                return
            self._pending[key] = _PendingCall(
                location, model, call_type, stream, litellm_call_id, via_proxy
            )
            self._pending_per_test[location.nodeid] += 1

    def location_of(self, key: int) -> Location | None:
        """Return where a started call was made, or `None` for an unknown key."""
        with self._condition:
            pending = self._pending.get(key)
            if pending is not None:
                return pending.location
            expired = self._expired.get(key)
            if expired is not None:
                return Location(expired.nodeid, expired.phase)
            return None

    def is_settled(self, key: int) -> bool:
        with self._condition:
            return key in self._settled

    def settle(self, key: int, record: CallRecord) -> bool:
        """Book the terminal event of a call; returns `False` for a repeated event.

        The record's location must already be the one the call started at
        (see `location_of`): the ledger books it at the record's node id and phase.
        """
        with self._condition:
            if key in self._settled:
                return False
            self._settled.add(key)

            pending = self._pending.pop(key, None)
            if pending is not None:
                self._pending_per_test[pending.location.nodeid] -= 1

            placeholder = self._expired.pop(key, None)
            if placeholder is not None:
                self._remove_placeholder(placeholder)

            self._book(record)
            self._condition.notify_all()
            return True

    def record_unaccounted(self, record: CallRecord) -> None:
        """Book a call whose cost can never be known, such as one the plugin failed to read."""
        with self._condition:
            self._book(record)

    def record_refusal(self, nodeid: str | None) -> None:
        """Count a call that a budget rejected before it was sent; it costs nothing."""
        with self._condition:
            self._run.refused_calls += 1
            if nodeid is None:
                self._outside.refused_calls += 1
            else:
                self._tests.setdefault(nodeid, Spend()).refused_calls += 1

    def pending_count(self, nodeid: str | None) -> int:
        with self._condition:
            return self._pending_per_test[nodeid]

    def wait_settled(self, nodeid: str | None, timeout: float) -> bool:
        """Wait until every call started by `nodeid` has settled; `False` on timeout.

        Returns at once when nothing is pending, so a test whose calls have
        all settled pays no wait.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._pending_per_test[nodeid] > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    def expire(self, nodeid: str | None) -> list[CallRecord]:
        """Book the calls of `nodeid` that are still pending as unaccounted.

        If a late event for one of them arrives afterwards, `settle` replaces
        the placeholder with the real cost, in the same test.
        """
        expired: list[CallRecord] = []
        with self._condition:
            for key, pending in list(self._pending.items()):
                if pending.location.nodeid != nodeid:
                    continue
                del self._pending[key]
                self._pending_per_test[nodeid] -= 1
                placeholder = CallRecord(
                    nodeid=pending.location.nodeid,
                    phase=pending.location.phase,
                    model=pending.model,
                    call_type=pending.call_type,
                    stream=pending.stream,
                    status="unaccounted",
                    cost_usd=None,
                    prompt_tokens=0,
                    completion_tokens=0,
                    litellm_call_id=pending.litellm_call_id,
                    via_proxy=pending.via_proxy,
                )
                self._expired[key] = placeholder
                self._book(placeholder)
                expired.append(placeholder)
        return expired

    def test_spend(self, nodeid: str) -> Spend:
        """Return a copy of one test's totals (empty if it made no call)."""
        with self._condition:
            spend = self._tests.get(nodeid)
            return spend.copy() if spend is not None else Spend()

    def test_cost(self, nodeid: str) -> Decimal:
        """Return the cost booked so far for one test."""
        with self._condition:
            spend = self._tests.get(nodeid)
            return spend.cost if spend is not None else ZERO

    def run_totals(self) -> tuple[Decimal, int]:
        """Return the run's cost and number of calls so far."""
        with self._condition:
            return self._run.cost, self._run.calls

    def records(self) -> list[CallRecord]:
        with self._condition:
            return list(self._records)

    def snapshot(self) -> LedgerSnapshot:
        with self._condition:
            return LedgerSnapshot(
                run=self._run.copy(),
                outside=self._outside.copy(),
                tests={nodeid: spend.copy() for nodeid, spend in self._tests.items()},
                pending_calls=len(self._pending),
            )

    def _book(self, record: CallRecord) -> None:
        if self.on_booked is not None:
            self.on_booked(record)
        self._records.append(record)
        self._run.add(record)
        if record.nodeid is None:
            self._outside.add(record)
        else:
            self._tests.setdefault(record.nodeid, Spend()).add(record)

    def _remove_placeholder(self, placeholder: CallRecord) -> None:
        self._records.remove(placeholder)
        self._run.remove_unaccounted(placeholder)
        if placeholder.nodeid is None:
            self._outside.remove_unaccounted(placeholder)
        else:
            self._tests[placeholder.nodeid].remove_unaccounted(placeholder)
