"""Writing report files so that readers never see a half-written one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO


def _current_umask() -> int:
    # os.umask can only be read by setting it; pytest writes reports from one thread.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: Path, content: str | Callable[[TextIO], object]) -> None:
    """Write `content` to `path` through a temporary file and a rename.

    `content` is the text, or a function that writes it to the open file, which
    streams a large report instead of holding it in memory. A crash mid-write
    leaves the previous file, never a truncated one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            if isinstance(content, str):
                stream.write(content)
            else:
                content(stream)
        # mkstemp creates the file readable by its owner only. The report gets the
        # permissions of any new file of the user, so CI steps of other users can read it.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def append_text(path: Path, text: str) -> None:
    """Append `text` to `path`, starting on a new line when the file already has content.

    For files that other steps also append to, such as GitHub's job summary.
    """
    with path.open("a+", encoding="utf-8") as stream:
        stream.seek(0, os.SEEK_END)
        if stream.tell() > 0:
            stream.write("\n")
        stream.write(text)
