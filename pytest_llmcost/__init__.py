"""pytest-llmcost: price every LiteLLM call a test suite makes, and enforce budgets.

Importing this package is cheap: it does not import LiteLLM.
"""

from __future__ import annotations

from .errors import (
    LLMCostWarning,
    PluginFaultWarning,
    UnaccountedCallWarning,
    UnpricedModelWarning,
)
from .spend import CallRecord

__version__ = "0.1.0"

__all__ = [
    "CallRecord",
    "LLMCostWarning",
    "PluginFaultWarning",
    "UnaccountedCallWarning",
    "UnpricedModelWarning",
    "__version__",
]
