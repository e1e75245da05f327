"""pytest-llmcost: price every LiteLLM call a test suite makes, and enforce budgets.

Importing this package is cheap: it imports neither LiteLLM nor pytest. The
warning types, which subclass pytest's, load on first access, so that
`python -m pytest_llmcost compare` starts without importing pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .spend import CallRecord

if TYPE_CHECKING:
    from .errors import (
        LLMCostWarning,
        PluginFaultWarning,
        UnaccountedCallWarning,
        UnpricedModelWarning,
    )

__version__ = "0.1.0"

__all__ = [
    "CallRecord",
    "LLMCostWarning",
    "PluginFaultWarning",
    "UnaccountedCallWarning",
    "UnpricedModelWarning",
    "__version__",
]

_WARNING_NAMES = frozenset(
    {"LLMCostWarning", "PluginFaultWarning", "UnaccountedCallWarning", "UnpricedModelWarning"}
)


def __getattr__(name: str) -> Any:
    if name in _WARNING_NAMES:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
