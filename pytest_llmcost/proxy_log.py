"""The cost log a LiteLLM proxy writes for pytest-llmcost, and reading it back.

The proxy's callback (`pytest_llmcost.proxy`) appends one JSON object per line
to the cost log for every call it settles, and one line per request it starts
to a second file beside it (`started_path`). From the second file the test
side learns which requests are still in flight, and when each one started. Both sides use this
module; it imports neither pytest nor LiteLLM.

A settled line holds numbers and names only::

    {"time": "2026-12-05T10:00:00.000000+00:00", "call_id": "...",
     "model": "openai/gpt-4o-mini", "call_type": "acompletion",
     "prompt_tokens": 1000, "completion_tokens": 500, "cost_usd": 0.00045,
     "unpriced": false, "stream": true, "status": "success", "cache_hit": false,
     "zero_usage": false,
     "test": "tests/test_app.py::test_reply"}

`cost_usd` is the float LiteLLM computed (the value of the proxy's
`x-litellm-response-cost` header), or null with `"unpriced": true` when LiteLLM
had no price: an unpriced call is never written as 0.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from .money import from_float
from .spend import CallStatus

LOG_VARIABLE = "LLMCOST_PROXY_LOG"
DEFAULT_LOG = "llm-cost.jsonl"
# The request header that names the test a request belongs to.
TEST_HEADER = "x-llmcost-test"
# Maximum length of a test id taken from a request header; longer values are cut.
MAX_TEST_ID = 4096

_STATUSES = ("success", "failure")


def started_path(log: Path) -> Path:
    """Return the file of started requests that sits beside the cost log `log`."""
    return log.with_name(log.name + ".started")


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat()


def append_line(path: Path, entry: Mapping[str, Any]) -> None:
    """Append `entry` as one JSON line, whole, even with other processes appending too.

    The file is opened in append mode for each line, so every write lands at
    the end of the file. The line is written under an exclusive lock, so lines
    of concurrent proxy workers never mix.
    """
    data = (json.dumps(entry, separators=(",", ":"), allow_nan=False) + "\n").encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _lock(descriptor)
        view = memoryview(data)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
    finally:
        os.close(descriptor)  # closing the file releases the lock


def _lock(descriptor: int) -> None:
    try:
        import fcntl
    except ImportError:
        # NOTE: without fcntl (Windows) lines are appended without a lock.
        return
    fcntl.flock(descriptor, fcntl.LOCK_EX)


class InvalidLineError(ValueError):
    """A line of the cost log that is not a call pytest-llmcost can book."""


@dataclass(frozen=True, slots=True)
class SettledLine:
    """A call the proxy settled, as read back from the cost log."""

    time: float  # seconds since the epoch, when the proxy settled the call
    call_id: str | None
    model: str
    call_type: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal | None  # None: unpriced
    stream: bool
    status: CallStatus
    cache_hit: bool
    zero_usage: bool
    test: str | None


@dataclass(frozen=True, slots=True)
class StartedLine:
    """A request the proxy started, as read back from the file of started requests."""

    time: float
    call_id: str
    model: str
    stream: bool
    test: str | None


def _text(entry: Mapping[str, Any], key: str, optional: bool = False) -> str | None:
    value = entry.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidLineError(f"{key!r} is {value!r}, expected a non-empty string")
    return value


def _count(entry: Mapping[str, Any], key: str) -> int:
    value = entry.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidLineError(f"{key!r} is {value!r}, expected a whole number of tokens")
    return value


def _time(entry: Mapping[str, Any]) -> float:
    text = _text(entry, "time")
    assert text is not None
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    except (ValueError, OverflowError):
        raise InvalidLineError(f"'time' is {text!r}, expected an ISO 8601 time") from None


def _cost(entry: Mapping[str, Any]) -> Decimal | None:
    value = entry.get("cost_usd")
    if value is None:
        if entry.get("unpriced") is not True:
            raise InvalidLineError("'cost_usd' is missing, and the call is not marked unpriced")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidLineError(f"'cost_usd' is {value!r}, expected a number of US dollars")
    if isinstance(value, float) and not math.isfinite(value) or value < 0:
        raise InvalidLineError(f"'cost_usd' is {value!r}, expected a non-negative number")
    return Decimal(value) if isinstance(value, int) else from_float(value)


def _mapping(text: str) -> Mapping[str, Any]:
    try:
        entry = json.loads(text)
    except ValueError as error:
        raise InvalidLineError(f"not JSON ({error})") from None
    if not isinstance(entry, dict):
        raise InvalidLineError(f"a JSON {type(entry).__name__}, expected an object")
    return entry


def parse_settled(text: str) -> SettledLine:
    """Read one line of the cost log; raises InvalidLineError."""
    entry = _mapping(text)
    status = entry.get("status")
    if status not in _STATUSES:
        raise InvalidLineError(f"'status' is {status!r}, expected 'success' or 'failure'")
    model = _text(entry, "model")
    assert model is not None
    return SettledLine(
        time=_time(entry),
        call_id=_text(entry, "call_id", optional=True),
        model=model,
        call_type=_text(entry, "call_type", optional=True) or "unknown",
        prompt_tokens=_count(entry, "prompt_tokens"),
        completion_tokens=_count(entry, "completion_tokens"),
        cost_usd=_cost(entry),
        stream=entry.get("stream") is True,
        status=status,
        cache_hit=entry.get("cache_hit") is True,
        zero_usage=entry.get("zero_usage") is True and entry.get("cost_usd") is None,
        test=_text(entry, "test", optional=True),
    )


def parse_started(text: str) -> StartedLine:
    """Read one line of the file of started requests; raises InvalidLineError."""
    entry = _mapping(text)
    call_id, model = (_text(entry, key) for key in ("call_id", "model"))
    assert call_id is not None and model is not None
    test = _text(entry, "test", optional=True)
    return StartedLine(_time(entry), call_id, model, entry.get("stream") is True, test)


class LineReader:
    """Reads the lines appended to a file since the last read, whole lines only.

    The reader starts at the file's size when it is created, so lines of
    earlier runs are skipped. A file that shrinks was replaced, so it is read
    again from its start.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = self._size()
        self._partial = b""

    def _size(self) -> int:
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0

    def read_lines(self) -> list[str]:
        size = self._size()
        if size < self._offset:
            self._offset = 0
            self._partial = b""
        if size == self._offset:
            return []
        try:
            with open(self.path, "rb") as file:
                file.seek(self._offset)
                data = file.read(size - self._offset)
        except OSError:
            return []
        self._offset += len(data)
        data = self._partial + data
        complete, _, self._partial = data.rpartition(b"\n")
        if not complete:
            return []
        return [line for line in complete.decode("utf-8", "replace").split("\n") if line.strip()]
