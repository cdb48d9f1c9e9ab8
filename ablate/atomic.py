"""Atomic file writes: a temp file in the same folder, fsync, then os.replace. A reader (or a run killed
mid-write) sees the old file or the new one, never half of one."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()   # what open() would give: mkstemp's 0600 would hide results from a team


def atomic_write(path: str | Path, write: Callable[[IO], None], binary: bool = False,
                 keep_previous: str | Path | None = None) -> None:
    """Write `path` through write(file). With keep_previous, the old `path` becomes that file once the new
    one is complete on disk (so one of the two is always whole)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"newline": ""})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        if keep_previous is not None and path.exists():
            os.replace(path, keep_previous)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
