"""Records of single LLM calls and the exact totals built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from .money import ZERO

CallStatus = Literal["success", "failure", "unaccounted"]
Phase = Literal["setup", "call", "teardown"]


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One LiteLLM call as the plugin recorded it: numbers and names, never content.

    `cost_usd` is `None` when LiteLLM had no price for the model, and for
    unaccounted calls, whose cost never reached the plugin.
    """

    nodeid: str | None
    phase: Phase | None
    model: str
    call_type: str
    stream: bool
    status: CallStatus
    cost_usd: Decimal | None
    prompt_tokens: int
    completion_tokens: int
    cache_hit: bool = False
    litellm_call_id: str | None = None
    # A call that reported no tokens and $0 where tokens were billed (a success, or a
    # stream cut after output arrived): its cost is unknown, not $0.
    zero_usage: bool = False
    # Where the cost came from: "litellm", or "hook" for pytest_llmcost_price_call.
    price_source: str | None = None
    # Reported by a LiteLLM proxy's cost log (--llm-proxy-log), not by an in-process call.
    via_proxy: bool = False

    @property
    def unpriced(self) -> bool:
        return self.status != "unaccounted" and self.cost_usd is None


@dataclass(slots=True)
class ModelSpend:
    """Calls, cost and tokens of one model."""

    calls: int = 0
    cost: Decimal = ZERO
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(slots=True)
class Spend:
    """Exact totals of a set of calls: a test, the calls outside tests, or the run.

    Costs are `Decimal`, so totals are the same whatever order the calls
    arrive in, on one process or across pytest-xdist workers.
    """

    cost: Decimal = ZERO
    calls: int = 0
    failed_calls: int = 0
    unpriced_calls: int = 0
    unaccounted_calls: int = 0
    cache_hits: int = 0
    refused_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    models: dict[str, ModelSpend] = field(default_factory=dict)
    phases: dict[str, Decimal] = field(default_factory=dict)
    unpriced_models: dict[str, int] = field(default_factory=dict)
    zero_usage_models: dict[str, int] = field(default_factory=dict)
    hook_priced_calls: int = 0
    proxy_calls: int = 0

    @property
    def zero_usage_calls(self) -> int:
        """Calls that reported no tokens and $0; they are among the unpriced calls."""
        return sum(self.zero_usage_models.values())

    def add(self, record: CallRecord) -> None:
        """Add one settled or unaccounted call to the totals."""
        cost = record.cost_usd if record.cost_usd is not None else ZERO
        self.calls += 1
        self.cost += cost
        self.prompt_tokens += record.prompt_tokens
        self.completion_tokens += record.completion_tokens

        if record.status == "failure":
            self.failed_calls += 1
        elif record.status == "unaccounted":
            self.unaccounted_calls += 1
        if record.unpriced:
            self.unpriced_calls += 1
            self.unpriced_models[record.model] = self.unpriced_models.get(record.model, 0) + 1
        if record.cache_hit:
            self.cache_hits += 1
        if record.price_source == "hook":
            self.hook_priced_calls += 1
        if record.via_proxy:
            self.proxy_calls += 1
        if record.zero_usage:
            self.zero_usage_models[record.model] = self.zero_usage_models.get(record.model, 0) + 1

        model = self.models.setdefault(record.model, ModelSpend())
        model.calls += 1
        model.cost += cost
        model.prompt_tokens += record.prompt_tokens
        model.completion_tokens += record.completion_tokens

        if record.phase is not None:
            self.phases[record.phase] = self.phases.get(record.phase, ZERO) + cost

    def remove_unaccounted(self, record: CallRecord) -> None:
        """Undo `add` for an unaccounted placeholder whose real event arrived late."""
        self.calls -= 1
        self.unaccounted_calls -= 1
        if record.via_proxy:
            self.proxy_calls -= 1
        model = self.models[record.model]
        model.calls -= 1
        if model.calls == 0 and model.cost == ZERO:
            del self.models[record.model]

    def merge(self, other: Spend) -> None:
        """Add another set of totals to this one."""
        self.cost += other.cost
        self.calls += other.calls
        self.failed_calls += other.failed_calls
        self.unpriced_calls += other.unpriced_calls
        self.unaccounted_calls += other.unaccounted_calls
        self.cache_hits += other.cache_hits
        self.refused_calls += other.refused_calls
        self.hook_priced_calls += other.hook_priced_calls
        self.proxy_calls += other.proxy_calls
        for name, count in other.zero_usage_models.items():
            self.zero_usage_models[name] = self.zero_usage_models.get(name, 0) + count
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        for name, theirs in other.models.items():
            mine = self.models.setdefault(name, ModelSpend())
            mine.calls += theirs.calls
            mine.cost += theirs.cost
            mine.prompt_tokens += theirs.prompt_tokens
            mine.completion_tokens += theirs.completion_tokens
        for phase, cost in other.phases.items():
            self.phases[phase] = self.phases.get(phase, ZERO) + cost
        for name, count in other.unpriced_models.items():
            self.unpriced_models[name] = self.unpriced_models.get(name, 0) + count

    def copy(self) -> Spend:
        """Return an independent copy, sharing no mutable value with this one.

        Built by calling the constructor with every field: the plugin copies a
        test's totals several times per test and every test's totals for each
        report. `copy.deepcopy` took 26 microseconds for a test with one model,
        `dataclasses.replace` 4, and this 1 (timeit on a 2-core AMD EPYC).
        Copying the dicts and the `ModelSpend` values suffices, because every
        other field is an int or a `Decimal`, which are immutable.
        """
        return Spend(
            cost=self.cost,
            calls=self.calls,
            failed_calls=self.failed_calls,
            unpriced_calls=self.unpriced_calls,
            unaccounted_calls=self.unaccounted_calls,
            cache_hits=self.cache_hits,
            refused_calls=self.refused_calls,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            models={
                name: ModelSpend(
                    model.calls, model.cost, model.prompt_tokens, model.completion_tokens
                )
                for name, model in self.models.items()
            },
            phases=dict(self.phases),
            unpriced_models=dict(self.unpriced_models),
            zero_usage_models=dict(self.zero_usage_models),
            hook_priced_calls=self.hook_priced_calls,
            proxy_calls=self.proxy_calls,
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize for pytest-xdist's channel: JSON types only, costs as exact strings."""
        return {
            "cost": str(self.cost),
            "counts": [self.calls, self.failed_calls, self.unpriced_calls,
                       self.unaccounted_calls, self.cache_hits, self.refused_calls,
                       self.prompt_tokens, self.completion_tokens, self.hook_priced_calls,
                       self.proxy_calls],
            "models": {
                name: [model.calls, str(model.cost), model.prompt_tokens, model.completion_tokens]
                for name, model in self.models.items()
            },
            "phases": {phase: str(cost) for phase, cost in self.phases.items()},
            "unpriced_models": dict(self.unpriced_models),
            "zero_usage_models": dict(self.zero_usage_models),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Spend:
        """Rebuild totals serialized by `to_dict`."""
        spend = cls(cost=Decimal(data["cost"]))
        (spend.calls, spend.failed_calls, spend.unpriced_calls, spend.unaccounted_calls,
         spend.cache_hits, spend.refused_calls, spend.prompt_tokens,
         spend.completion_tokens, spend.hook_priced_calls, spend.proxy_calls) = (
            int(count) for count in data["counts"]
        )
        for name, (calls, cost, prompt_tokens, completion_tokens) in data["models"].items():
            spend.models[name] = ModelSpend(int(calls), Decimal(cost), int(prompt_tokens),
                                            int(completion_tokens))
        spend.phases = {phase: Decimal(cost) for phase, cost in data["phases"].items()}
        spend.unpriced_models = {name: int(count) for name, count in data["unpriced_models"].items()}
        spend.zero_usage_models = {
            name: int(count) for name, count in data["zero_usage_models"].items()
        }
        return spend
