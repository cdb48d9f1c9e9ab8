"""A job's checkpoints: whether a rerun resumes, and what each epoch writes (checkpoint, best weights).

The checkpoint carries the identity of the config that wrote it (ablate.record.identity), so a job folder never
resumes a run of another config.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from ablate.core import TrainState
from ablate.job.checkpoint import CHECKPOINT, load_checkpoint, remove_checkpoints, save_checkpoint
from ablate.errors import CheckpointError
from ablate.record.identity import conflicts, differences, identity_hash
from ablate.models.weights import BEST, save_weights

log = logging.getLogger("ablate")


def find_resume(job_dir: Path, ident: dict, enabled: bool, label: str) -> dict | None:
    """The checkpoint to resume from, or None to start at epoch 0."""
    if not enabled:
        if (job_dir / CHECKPOINT).exists():
            log.warning("trainer.resume=false: %s starts over; its checkpoint is replaced after the first epoch",
                        label)
        return None
    checkpoint = load_checkpoint(job_dir)
    if checkpoint is None:
        return None
    if checkpoint.get("identity_hash") != identity_hash(ident):
        saved = checkpoint.get("identity", {})
        diffs = conflicts(saved, ident) or ([] if saved else differences(saved, ident))
        if not diffs:     # only keys added to the config since it was written, each at its default: the same run
            log.info("%s: its checkpoint predates the keys %s (their defaults are what it ran with)", label,
                     ", ".join(sorted(set(ident) - set(saved))[:6]) or "(none)")
            log.info("resuming %s from epoch %d", label, checkpoint["state"]["epoch"])
            return checkpoint
        raise CheckpointError(
            f"{job_dir / CHECKPOINT} was written by a run of another config (differs in {'; '.join(diffs[:6])}"
            f"{' ...' if len(diffs) > 6 else ''}): run this config in a new folder (hydra.run.dir or "
            f"hydra.sweep.dir), or set trainer.resume=false to start this job over")
    log.info("resuming %s from epoch %d", label, checkpoint["state"]["epoch"])
    return checkpoint


class EpochSaver:
    """Called after each epoch: the resume checkpoint every `every` epochs, and the best-val weights."""

    def __init__(self, job_dir: Path, ident: dict, every: int, save_best: bool, weights_meta: dict,
                 resumed_from: list[int], extra: dict, best_val_acc: float | None = None):
        self.job_dir, self.ident, self.every, self.save_best = job_dir, ident, every, save_best
        self.weights_meta, self.resumed_from, self.extra = weights_meta, resumed_from, extra
        self.best_val_acc = best_val_acc
        self.seconds, self.bytes, self.saves = 0.0, 0, 0

    def __call__(self, row: dict, state: TrainState, last_epoch: int) -> None:
        start = time.perf_counter()
        val = row.get("val_acc")
        if self.save_best and val == val and (self.best_val_acc is None or val > self.best_val_acc):
            self.best_val_acc = val      # chosen on the validation split, never on test
            save_weights(self.job_dir / BEST, state.model, {**self.weights_meta, "epoch": state.epoch,
                                                            "val_acc": val})
        if self.every and (state.epoch % self.every == 0 or state.epoch == last_epoch):
            path = save_checkpoint(self.job_dir, {
                "state": state.state_dict(), "identity": self.ident, "identity_hash": identity_hash(self.ident),
                "resumed_from_epochs": self.resumed_from, **self.extra})
            self.bytes = path.stat().st_size
            self.saves += 1
        self.seconds += time.perf_counter() - start

    def timing(self) -> dict:
        return {"checkpoint_seconds": self.seconds, "checkpoint_bytes": self.bytes, "checkpoints_written": self.saves}


def discard_checkpoints(job_dir: Path, keep: bool) -> None:
    if not keep:
        remove_checkpoints(job_dir)
