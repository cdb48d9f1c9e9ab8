"""Which files in a job folder ablate wrote, so that it never overwrites or deletes one it did not.

A job marks its folder (MARKER) before it writes anything there. A folder without the mark that holds files of
the names a job writes (a user's own results.json, checkpoint.pt, model.pt ...: `hydra.run.dir=.` is a common
habit) is refused with those files named, and nothing in it is touched. Folders of jobs run before the mark
existed are recognised by their contents (an ablate record, checkpoint, history, weights or predictions) and
marked then.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from pathlib import Path
from typing import Callable

from ablate.job.checkpoint import CHECKPOINT, PREVIOUS
from ablate.models.weights import BEST, FINAL
from ablate.record.atomic import atomic_write
from ablate.record.files import HISTORY, PREDICTIONS, RESULTS

log = logging.getLogger("ablate")
MARKER = ".ablate-job"      # in a job folder: ablate writes here (its record, checkpoints, weights, history)


def _torch_dict_with(*keys: str) -> Callable[[Path], bool]:
    def check(path: Path) -> bool:
        import torch

        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # noqa: BLE001 - unreadable, truncated, not a torch file: not recognisably ours
            return False
        return isinstance(obj, dict) and all(k in obj for k in keys)
    return check


def _record(path: Path) -> bool:
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(obj, dict) and "status" in obj and "config" in obj


def _history(path: Path) -> bool:
    try:
        with open(path) as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return first == "" or first.startswith("epoch,")


def _predictions(path: Path) -> bool:
    import numpy as np

    try:
        with np.load(path) as z:
            return {"predicted", "confidence", "label"} <= set(z.files)
    except Exception:  # noqa: BLE001 - not an npz of ours
        return False


# every file a job writes in its folder, and how to tell one of an unmarked folder was ablate's
WRITTEN: dict[str, Callable[[Path], bool]] = {
    RESULTS: _record, HISTORY: _history, PREDICTIONS: _predictions,
    CHECKPOINT: _torch_dict_with("state", "identity_hash"), PREVIOUS: _torch_dict_with("state", "identity_hash"),
    FINAL: _torch_dict_with("model_state"), BEST: _torch_dict_with("model_state"),
}


def foreign_files(job_dir: Path) -> list[str]:
    """The files in job_dir of the names a job writes that ablate did not write ([] for a marked folder). An
    unmarked folder where any of them is recognisably ablate's is a job folder from before the mark."""
    if (job_dir / MARKER).exists():
        return []
    present = [name for name in WRITTEN if (job_dir / name).is_file()]
    if any(WRITTEN[name](job_dir / name) for name in present):
        return []
    return present


def claim(job_dir: Path) -> None:
    """Mark job_dir as a job folder of ablate's (before the job writes anything in it)."""
    if not (job_dir / MARKER).exists():
        atomic_write(job_dir / MARKER, lambda f: f.write("written by ablate: this folder's results.json, "
                                                         "history.csv, checkpoints and weights\n"))


def refusal(job_dir: Path, foreign: list[str]) -> str:
    return (f"{job_dir} holds {', '.join(foreign)}, which ablate did not write: a job there would overwrite or "
            f"delete them, so it did not start and nothing in the folder was touched. Run it in a folder of its "
            f"own (e.g. hydra.run.dir=outputs/my_run, or hydra.sweep.dir=... for a sweep), or move those files")


LOCK = ".ablate-lock"       # held (an exclusive flock) by the process training the job; released when it dies


class JobLock:
    """One process per job folder: a second run of the same job (another terminal, a resubmitted array job)
    is refused, naming the process that holds it, instead of training beside it and claiming its resume."""

    def __init__(self, job_dir: Path):
        self.path, self._file = job_dir / LOCK, None

    def acquire(self) -> str | None:
        """None when this process now holds the folder; else who holds it, for the message."""
        f = open(self.path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            return holder
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()} on {socket.gethostname()}\n")
        f.flush()
        self._file = f
        return None

    @staticmethod
    def alive_here(job_dir: Path) -> bool | None:
        """Whether the process that last took the folder's lock still lives: True or False when it ran on this
        machine, None when that cannot be told here (no lock written, or another host's, as on a cluster)."""
        try:
            words = (job_dir / LOCK).read_text().split()
        except OSError:
            return None
        if len(words) != 4 or words[0] != "process" or not words[1].isdigit() or words[3] != socket.gethostname():
            return None
        try:
            os.kill(int(words[1]), 0)
        except ProcessLookupError:
            return False
        except PermissionError:          # it lives, as another user's process
            return True
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
