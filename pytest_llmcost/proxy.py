"""A cost callback for a LiteLLM proxy, whose log pytest-llmcost reads with --llm-proxy-log.

Name it in the proxy's config::

    litellm_settings:
      callbacks: pytest_llmcost.proxy.cost_logger

and set `LLMCOST_PROXY_LOG` to the log's path (default `llm-cost.jsonl` in the
proxy's working directory). For every call the proxy settles, streamed or not,
successful or failed, the callback appends one JSON line. The line contains the
call's model, tokens and the cost LiteLLM computed from the provider's usage,
and the `x-llmcost-test` request header when the caller sent one. Prompts, outputs,
keys and other headers are never written. See `proxy_log` for the format.

This module imports LiteLLM; the pytest plugin never imports it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from .events import read_call, read_model
from .ledger import OUTSIDE
from .proxy_log import (
    DEFAULT_LOG,
    LOG_VARIABLE,
    MAX_TEST_ID,
    TEST_HEADER,
    append_line,
    now_text,
    started_path,
)
from .spend import CallStatus

logger = logging.getLogger("pytest_llmcost.proxy")

# How many recent calls the logger remembers to write each call once.
_REMEMBERED_CALLS = 10_000


def log_path() -> Path:
    return Path(os.environ.get(LOG_VARIABLE) or DEFAULT_LOG)


def _test_tag(kwargs: Mapping[str, Any]) -> str | None:
    """Return the value of the caller's x-llmcost-test header, or `None`."""
    candidates: list[object] = []
    logging_object = kwargs.get("standard_logging_object")
    if isinstance(logging_object, Mapping):
        metadata = logging_object.get("metadata")
        if isinstance(metadata, Mapping):
            candidates.append(metadata.get("requester_custom_headers"))
    litellm_params = kwargs.get("litellm_params")
    if isinstance(litellm_params, Mapping):
        metadata = litellm_params.get("metadata")
        if isinstance(metadata, Mapping):
            candidates.append(metadata.get("headers"))
    for headers in candidates:
        if not isinstance(headers, Mapping):
            continue
        for name, value in headers.items():
            if isinstance(name, str) and name.lower() == TEST_HEADER and isinstance(value, str):
                value = value.strip()
                return value[:MAX_TEST_ID] if value else None
    return None


def _raw_cost(kwargs: Mapping[str, Any]) -> float | None:
    raw = kwargs.get("response_cost")
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    value = float(raw)
    return value if math.isfinite(value) and value >= 0 else None


class ProxyCostLogger(CustomLogger):
    """Appends one line per settled call to the cost log, and one per started request beside it."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._written: OrderedDict[tuple[str, str], None] = OrderedDict()

    def _first_time(self, call_id: object, kind: str) -> bool:
        """True the first time a call's line of this kind is written."""
        if not isinstance(call_id, str):
            return True
        key = (call_id, kind)
        with self._lock:
            if key in self._written:
                return False
            self._written[key] = None
            if len(self._written) > _REMEMBERED_CALLS:
                self._written.popitem(last=False)
            return True

    def _started(self, kwargs: Mapping[str, Any]) -> None:
        try:
            call_id = kwargs.get("litellm_call_id")
            if not isinstance(call_id, str):
                return
            if not self._first_time(call_id, "started"):
                return  # a retry of the same request
            entry = {
                "time": now_text(),
                "call_id": call_id,
                "model": read_model(kwargs),
                "stream": kwargs.get("stream") is True,
                "test": _test_tag(kwargs),
            }
            append_line(started_path(log_path()), entry)
        except Exception:
            logger.exception("pytest-llmcost could not record a started request")

    def _settled(self, kwargs: Mapping[str, Any], response_obj: object, status: CallStatus) -> None:
        try:
            if not self._first_time(kwargs.get("litellm_call_id"), status):
                return
            record = read_call(kwargs, response_obj, status, OUTSIDE)
            cost: float | None = None
            if record.cost_usd is not None:
                raw = _raw_cost(kwargs)
                # The float LiteLLM computed, as in its x-litellm-response-cost header.
                cost = raw if raw is not None and not record.cache_hit else float(record.cost_usd)
            entry = {
                "time": now_text(),
                "call_id": record.litellm_call_id,
                "model": record.model,
                "call_type": record.call_type,
                "prompt_tokens": record.prompt_tokens,
                "completion_tokens": record.completion_tokens,
                "cost_usd": cost,
                "unpriced": cost is None,
                "stream": record.stream,
                "status": record.status,
                "cache_hit": record.cache_hit,
                # A successful call that reported no usage: unpriced because its cost is unknown.
                "zero_usage": record.zero_usage,
                "test": _test_tag(kwargs),
            }
            append_line(log_path(), entry)
        except Exception:
            # A lost line is spend that the tests cannot see, so the proxy's log must show it.
            logger.exception("pytest-llmcost could not write a call to its cost log")

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        self._started(kwargs)

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        self._settled(kwargs, response_obj, "success")

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        self._settled(kwargs, response_obj, "failure")

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        self._settled(kwargs, response_obj, "success")

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        self._settled(kwargs, response_obj, "failure")


cost_logger = ProxyCostLogger()
