"""Acting on LiteLLM the moment the code under test imports it, and never importing it first.

`import litellm` takes seconds, so the plugin must not import it in runs that
do not use it. A finder on `sys.meta_path` notifies the plugin when LiteLLM
has been imported (at collection, in a fixture or inside a test body), early
enough to register the callback before the first call.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from importlib.metadata import PackageNotFoundError, distribution
from types import ModuleType
from typing import Any

_lock = threading.Lock()
_listeners: list[Callable[[], None]] = []


def _dispatch() -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener()


class _NotifyingLoader:
    """A loader that runs LiteLLM's own loader, then calls the listeners.

    Other attributes are read from the wrapped loader, for code that inspects loaders.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps its real loader, because importlib.resources reads the
        # package's files through it, such as LiteLLM's bundled price map.
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self.loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self.loader
        self.loader.exec_module(module)
        _dispatch()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


class _LiteLLMFinder:
    """A `sys.meta_path` finder that wraps the loader of the top-level `litellm` package.

    It finds nothing itself. It looks LiteLLM's spec up in the rest of
    `sys.meta_path` and returns it with a `_NotifyingLoader`. Every other
    import costs one string comparison.
    """

    def __init__(self) -> None:
        self._searching = threading.local()

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> ModuleSpec | None:
        if fullname != "litellm" or getattr(self._searching, "active", False):
            return None
        self._searching.active = True  # importlib.util.find_spec calls this finder again
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._searching.active = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _NotifyingLoader(spec.loader)  # type: ignore[assignment]
        return spec


_finder = _LiteLLMFinder()


def on_litellm_import(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` once LiteLLM is imported, or now if it already is.

    Returns a function that cancels the subscription. The finder stays on
    `sys.meta_path` while any listener is subscribed, and calls the listeners
    again if LiteLLM is imported anew after its removal from `sys.modules`.
    """
    with _lock:
        _listeners.append(listener)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
    if "litellm" in sys.modules:
        listener()

    def cancel() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)
            if not _listeners and _finder in sys.meta_path:
                sys.meta_path.remove(_finder)

    return cancel


# The oldest LiteLLM release whose callbacks, logging queues and budget check the
# plugin is tested against; keep in step with the dependency in pyproject.toml and
# with requirements/lowest.in (tests/test_locks.py checks all three).
MIN_LITELLM_VERSION = (1, 108, 4)


def version_tuple(text: str) -> tuple[int, ...]:
    """Return the leading numeric parts of a version, such as (1, 110, 2) for '1.110.2.post1'."""
    parts = []
    for piece in text.split("."):
        digits = ""
        for character in piece:
            if not character.isdigit():
                break
            digits += character
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def unsupported_litellm_reason() -> str | None:
    """Return why the installed LiteLLM cannot be used, or `None` when it can (or is absent)."""
    installed = installed_litellm_version()
    if installed is None:
        return None
    if version_tuple(installed) < MIN_LITELLM_VERSION:
        oldest = ".".join(str(part) for part in MIN_LITELLM_VERSION)
        return (
            f"LiteLLM {installed} is older than {oldest}, the oldest release pytest-llmcost "
            f"supports: upgrade it with pip install 'litellm>={oldest}'"
        )
    return None


@functools.cache
def installed_litellm_version() -> str | None:
    """Return the installed LiteLLM's version without importing it, or `None`.

    Every pytest run needs it, for the report header and the summary. It is
    read from the header block of the package metadata, which ends at the
    first blank line, because `importlib.metadata.version` parses the whole
    file, LiteLLM's README included. On a 2-core AMD EPYC that took about
    3 ms of every pytest start-up, and this function takes 1.5 ms. The result
    is cached.
    """
    try:
        installed = distribution("litellm")
    except PackageNotFoundError:
        return None
    header_block = (installed.read_text("METADATA") or "").split("\n\n", 1)[0]
    for line in header_block.splitlines():
        if line.startswith("Version:"):
            return line[len("Version:"):].strip()
    return installed.version
