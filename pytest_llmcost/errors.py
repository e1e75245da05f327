"""Warning types that the plugin emits; filter them with `-W` like any pytest warning."""

from __future__ import annotations

import pytest


class LLMCostWarning(pytest.PytestWarning):
    """Base class of pytest-llmcost's warnings."""


class UnpricedModelWarning(LLMCostWarning):
    """A LiteLLM call whose model has no price: it is counted, but not as $0."""


class UnaccountedCallWarning(LLMCostWarning):
    """A LiteLLM call whose cost never reached the plugin."""


class PluginFaultWarning(LLMCostWarning):
    """The plugin could not read a LiteLLM event; the call is counted as unaccounted."""
