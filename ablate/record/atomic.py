"""Atomic file writes: a temp file in the same folder, fsync, then os.replace. A reader (or a run killed
mid-write) sees the old file or the new one, never half of one; a Ctrl-C or SIGTERM that arrives during a
write takes effect as soon as the write is done."""
from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import IO, Callable

DEFERRED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_deferred():
    """Hold SIGINT / SIGTERM until the block ends, then deliver the first one that came to the handler that
    was in place. (torch.save turns an interrupt inside its writer into a RuntimeError, so a Ctrl-C during
    a checkpoint would otherwise end the job as failed instead of interrupted.) Only the main thread can
    set handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in DEFERRED}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if caught:
            signal.raise_signal(caught[0])


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
    with signals_deferred():
        _write_then_replace(path, write, binary, keep_previous)


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete the temporary files a writer killed outright (SIGKILL, power loss) left in `folder`: they are
    never read, and a checkpoint's can be large. Call it only where no other process writes."""
    stale = [p for p in Path(folder).glob(".*.tmp") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def _write_then_replace(path: Path, write: Callable[[IO], None], binary: bool,
                        keep_previous: str | Path | None) -> None:
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
