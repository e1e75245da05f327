"""Attribution of LiteLLM calls to tests: the link between the callback and the ledger.

The callback in `litellm_bridge` hands every event to an `Accountant`, which
tracks which test and phase are running, keys each call, and books it in the
ledger. Nothing here imports LiteLLM.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from .events import read_call, read_call_type, read_model
from .ledger import OUTSIDE, Ledger, Location
from .spend import CallRecord, CallStatus

# Prefix of the key written into LiteLLM's per-call kwargs dict at the pre-call hook.
# The same dict reaches the terminal event, so the key links both even when a caller
# reuses a litellm_call_id. Each Accountant adds its own suffix, so two pytest runs
# in one process (pytester) never read each other's keys.
CALL_KEY_PREFIX = "llmcost_call_key_"


@dataclass
class PluginFault:
    """An exception the plugin caught while reading a LiteLLM event."""

    where: str
    error: str
    count: int = 1


@dataclass
class Accountant:
    """Books every LiteLLM call of this pytest run in `ledger`, at the test that made it."""

    ledger: Ledger
    location: Location = OUTSIDE
    faults: dict[str, PluginFault] = field(default_factory=dict)
    # Set by the plugin to run the pytest_llmcost_price_call and _call_settled hooks.
    price_unpriced: Callable[[CallRecord], CallRecord] | None = None
    on_settled: Callable[[CallRecord], None] | None = None
    _keys: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    call_key: str = field(default_factory=lambda: CALL_KEY_PREFIX + uuid.uuid4().hex[:12])
    _faults_lock: threading.Lock = field(default_factory=threading.Lock)

    def call_started(self, model: object, kwargs: MutableMapping[str, Any]) -> None:
        """Record the start of a call, in the caller's thread or task."""
        try:
            key = kwargs.get(self.call_key)
            if not isinstance(key, int) or self.ledger.is_settled(key):
                # A pre-call on a dict whose call already ended starts a new attempt, because
                # LiteLLM's `fallbacks=` and async `context_window_fallback_dict` report the
                # failed attempt and then reuse its kwargs. A pending key is a retry instead.
                key = next(self._keys)
                kwargs[self.call_key] = key
            call_id = kwargs.get("litellm_call_id")
            self.ledger.start(
                key,
                self.location,
                model=read_model(kwargs, fallback=model if isinstance(model, str) else "unknown"),
                call_type=read_call_type(kwargs),
                stream=kwargs.get("stream") is True,
                litellm_call_id=call_id if isinstance(call_id, str) else None,
            )
        except Exception as error:  # a fault here must never reach LiteLLM's caller
            self.record_fault("log_pre_api_call", error)

    def call_ended(
        self,
        kwargs: MutableMapping[str, Any],
        response_obj: object,
        status: CallStatus,
        hook: str,
    ) -> None:
        """Book the terminal event of a call; a repeated event for the same call is ignored."""
        location = self.location
        try:
            if _rejected_by_plugin(kwargs.get("exception")):
                # Never sent: the gate counted the rejection, so it is not a failed call.
                return
            key = kwargs.get(self.call_key)
            if not isinstance(key, int):
                # No pre-call hook ran (cache hits, some mocked calls). Key the dict
                # now so a second terminal event of the same call is recognised.
                key = next(self._keys)
                kwargs[self.call_key] = key
            elif self.ledger.is_settled(key):
                return
            else:
                location = self.ledger.location_of(key) or location

            record = read_call(kwargs, response_obj, status, location)
        except Exception as error:
            self.record_fault(hook, error)
            self._book_unreadable(kwargs, location)
            return

        if record.unpriced and self.price_unpriced is not None:
            record = self.price_unpriced(record)
        if self.ledger.settle(key, record) and self.on_settled is not None:
            self.on_settled(record)

    def _book_unreadable(self, kwargs: MutableMapping[str, Any], location: Location) -> None:
        """Count a call whose event could not be read as unaccounted, never as free."""
        try:
            key = kwargs.get(self.call_key)
            model = kwargs.get("model")
            record = CallRecord(
                nodeid=location.nodeid,
                phase=location.phase,
                model=model if isinstance(model, str) else "unknown",
                call_type="unknown",
                stream=False,
                status="unaccounted",
                cost_usd=None,
                prompt_tokens=0,
                completion_tokens=0,
            )
            if isinstance(key, int):
                if not self.ledger.settle(key, record):
                    return
            else:
                self.ledger.record_unaccounted(record)
            if self.on_settled is not None:
                self.on_settled(record)
        except Exception as error:  # the payload is not even a usable mapping
            self.record_fault("recording an unreadable event", error)
            self.ledger.record_unaccounted(
                CallRecord(location.nodeid, location.phase, "unknown", "unknown", False,
                           "unaccounted", None, 0, 0)
            )

    def record_fault(self, where: str, error: Exception) -> None:
        """Keep an exception the plugin caught, for one warning per place it happened."""
        text = f"{type(error).__name__}: {error}"
        with self._faults_lock:
            fault = self.faults.get(where)
            if fault is None:
                self.faults[where] = PluginFault(where, text)
            else:
                fault.count += 1

    def take_faults(self) -> list[PluginFault]:
        """Return the faults recorded since the last call, and forget them."""
        with self._faults_lock:
            faults = list(self.faults.values())
            self.faults.clear()
        return faults



def _rejected_by_plugin(exception: object) -> bool:
    """True for the BudgetExceededError with which the spend gate rejected a call."""
    if exception is None or type(exception).__name__ != "BudgetExceededError":
        return False
    if getattr(exception, "llmcost_refusal", False):
        return True
    return bool(getattr(getattr(exception, "current_cost", None), "llmcost_refusal", False))
