"""Reading LiteLLM's callback payloads into `CallRecord`s, without importing LiteLLM.

Only numbers and names are copied out: model, call type, token counts, cost
and flags. Messages, responses, keys and headers are never read, so nothing
secret can reach a report. LiteLLM mutates its payload dicts after a hook
returns, so every value is copied at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .ledger import Location
from .money import ZERO, from_float
from .spend import CallRecord, CallStatus


def _int(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float) and math.isfinite(value):
        return max(int(value), 0)
    return 0


def _usage_of(response_obj: object) -> tuple[int, int] | None:
    usage: Any = None
    if isinstance(response_obj, Mapping):
        usage = response_obj.get("usage")
    elif response_obj is not None:
        usage = getattr(response_obj, "usage", None)
    if usage is None:
        return None
    if isinstance(usage, Mapping):
        prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
        completion = usage.get("completion_tokens", usage.get("output_tokens"))
    else:
        prompt = getattr(usage, "prompt_tokens", None)
        if prompt is None:
            prompt = getattr(usage, "input_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        if completion is None:
            completion = getattr(usage, "output_tokens", None)
    return _int(prompt), _int(completion)


def read_tokens(kwargs: Mapping[str, Any], response_obj: object) -> tuple[int, int]:
    """Return (prompt_tokens, completion_tokens) as LiteLLM reported them."""
    logging_object = kwargs.get("standard_logging_object")
    if isinstance(logging_object, Mapping) and "prompt_tokens" in logging_object:
        return (
            _int(logging_object.get("prompt_tokens")),
            _int(logging_object.get("completion_tokens")),
        )
    for candidate in (
        kwargs.get("complete_streaming_response"),
        kwargs.get("async_complete_streaming_response"),
        response_obj,
    ):
        usage = _usage_of(candidate)
        if usage is not None:
            return usage
    return 0, 0


def read_call_type(kwargs: Mapping[str, Any]) -> str:
    """Return the entry point's name, such as 'completion' or 'aembedding'."""
    value = kwargs.get("call_type")
    # LiteLLM passes a str-based enum (CallTypes) on some paths and a plain str on others.
    inner = getattr(value, "value", value)
    return inner if isinstance(inner, str) else "unknown"


def read_model(kwargs: Mapping[str, Any], fallback: str = "unknown") -> str:
    """Return the model as `provider/model`, the form LiteLLM's price map uses for keys."""
    model = kwargs.get("model")
    if not isinstance(model, str) or not model:
        return fallback
    provider = kwargs.get("custom_llm_provider")
    if not isinstance(provider, str) or not provider:
        litellm_params = kwargs.get("litellm_params")
        if isinstance(litellm_params, Mapping):
            provider = litellm_params.get("custom_llm_provider")
    if isinstance(provider, str) and provider and not model.startswith(provider + "/"):
        return f"{provider}/{model}"
    return model


def read_cost(kwargs: Mapping[str, Any], status: CallStatus) -> Decimal | None:
    """Return the cost LiteLLM computed, `None` when it could not price the call.

    A cache hit of LiteLLM's response cache costs nothing. A failed call costs
    what LiteLLM reports, which is 0 unless a stream was cut after some output.
    """
    if kwargs.get("cache_hit") is True:
        return ZERO
    raw = kwargs.get("response_cost")
    if raw is None:
        return ZERO if status == "failure" else None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise TypeError(f"response_cost has type {type(raw).__name__}, expected a number")
    cost = Decimal(raw) if isinstance(raw, int) else from_float(raw)
    if cost < 0:
        raise ValueError(f"response_cost {raw!r} is negative")
    return cost


def _stream_cut_after_output(kwargs: Mapping[str, Any], status: CallStatus) -> bool:
    """True for a failed stream that had already delivered output.

    LiteLLM sets `completion_start_time` when the first chunk arrives. When a
    sync stream breaks after that, LiteLLM 1.110.2 reports the failure with $0
    and no tokens, although the provider bills the tokens it produced.
    """
    return (
        status == "failure"
        and kwargs.get("stream") is True
        and kwargs.get("completion_start_time") is not None
    )


def read_call(
    kwargs: Mapping[str, Any],
    response_obj: object,
    status: CallStatus,
    location: Location,
) -> CallRecord:
    """Build the record of a call from its terminal event."""
    prompt_tokens, completion_tokens = read_tokens(kwargs, response_obj)
    call_id = kwargs.get("litellm_call_id")
    cost = read_cost(kwargs, status)
    cache_hit = kwargs.get("cache_hit") is True
    # A real request always sends some prompt tokens, so a successful call reporting
    # none and costing $0 is a provider or mock that sent no usage: its cost is unknown.
    no_usage = cost == 0 and prompt_tokens == 0 and completion_tokens == 0
    zero_usage = no_usage and (
        (status == "success" and not cache_hit) or _stream_cut_after_output(kwargs, status)
    )
    return CallRecord(
        nodeid=location.nodeid,
        phase=location.phase,
        model=read_model(kwargs),
        call_type=read_call_type(kwargs),
        stream=kwargs.get("stream") is True,
        status=status,
        cost_usd=None if zero_usage else cost,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cache_hit=cache_hit,
        litellm_call_id=call_id if isinstance(call_id, str) else None,
        zero_usage=zero_usage,
        price_source="litellm" if cost is not None and not zero_usage else None,
    )
