"""A run's resume checkpoint on disk: one dict written atomically, the previous one kept until the new one is
whole, and a reader that falls back to the previous one (or to nothing) instead of crashing."""
from __future__ import annotations

import logging
from pathlib import Path

import torch

from ablate.record.atomic import atomic_write

log = logging.getLogger("ablate")
CHECKPOINT = "checkpoint.pt"
PREVIOUS = "checkpoint.prev.pt"


def save_checkpoint(job_dir: str | Path, checkpoint: dict) -> Path:
    """Write job_dir/checkpoint.pt; the one it replaces becomes checkpoint.prev.pt once the new one is on disk."""
    job_dir = Path(job_dir)
    path = job_dir / CHECKPOINT
    atomic_write(path, lambda f: torch.save(checkpoint, f), binary=True, keep_previous=job_dir / PREVIOUS)
    return path


def load_checkpoint(job_dir: str | Path) -> dict | None:
    """The newest readable checkpoint in job_dir, or None. An unreadable or truncated file is skipped with a
    warning (the previous checkpoint, else a fresh start): a bad checkpoint never stops a run."""
    for name in (CHECKPOINT, PREVIOUS):
        path = Path(job_dir) / name
        if not path.exists():
            continue
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(checkpoint, dict) or "state" not in checkpoint:
                raise ValueError("not an ablate checkpoint")
            return checkpoint
        except Exception as e:  # noqa: BLE001 - truncated, corrupt, or from elsewhere: try the next one
            log.warning("cannot read the checkpoint %s (%s: %s); trying the previous one, else starting over",
                        path, type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    return None


def remove_checkpoints(job_dir: str | Path) -> None:
    for name in (CHECKPOINT, PREVIOUS):
        (Path(job_dir) / name).unlink(missing_ok=True)
