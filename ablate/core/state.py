"""Everything that changes while a run trains, in one object whose state_dict() is a checkpoint's content.

Resuming from state_dict() after epoch k and training on gives the same numbers as never stopping
(on a CPU, and on CUDA with trainer.deterministic=true): the model with its BatchNorm buffers, the
optimizer's momentum, the schedule's position, the generator that orders the data and draws the
augmentation, the global torch RNGs, and the history so far. A checkpoint from another device type (CPU <-> CUDA,
whose generator states differ) resumes too, with the data-order generator reseeded and a note saying so.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import torch

log = logging.getLogger("ablate")


STEP_IMPLEMENTATION = ("fused", "foreach")    # optimizer param_group keys that choose a kernel, not a result


def generator_device_type(state: torch.Tensor) -> str:
    """Which kind of generator a saved state came from: a CPU generator's state is 5,056 bytes, a CUDA one's 16."""
    return "cpu" if state.numel() == torch.Generator().get_state().numel() else "cuda"


def epoch_seed(seed: int, epoch: int) -> int:
    """A seed for the data order and augmentation from `epoch` on, derived from (seed, epoch) alone."""
    return int.from_bytes(hashlib.sha256(f"ablate:{seed}:{epoch}".encode()).digest()[:8], "little") >> 1


@dataclass
class TrainState:
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator            # data order and augmentation, on the data's device
    epoch: int = 0                         # epochs completed
    history: list[dict] = field(default_factory=list)
    seed: int = 0                          # reseeds the generator when a resume comes from another device type
    notes: list[str] = field(default_factory=list)
    lookahead: Any = None                  # a core.lookahead.Lookahead when trainer.lookahead is on

    @property
    def best_val_acc(self) -> float | None:
        accs = [r.get("val_acc") for r in self.history]
        return max((a for a in accs if a is not None and a == a), default=None)   # skips None and NaN

    def end_epoch(self, row: dict) -> None:
        self.epoch += 1
        self.history.append(row)

    @property
    def device(self) -> torch.device:
        return self.generator.device

    def state_dict(self) -> dict:
        cuda = self.device.type == "cuda"
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "generator_device": self.device.type,
            "epoch": self.epoch,
            "history": [dict(r) for r in self.history],
            "best_val_acc": self.best_val_acc,
            "notes": list(self.notes),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.device) if cuda else None,   # the run's own GPU
            "lookahead": self.lookahead.state_dict() if self.lookahead is not None else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        # how the step runs (fused, foreach) is this job's choice, not the checkpoint's: load_state_dict copies
        # every param_group key from the saved state, which would turn a fused run unfused (or back) silently
        how = [{k: g[k] for k in STEP_IMPLEMENTATION if k in g} for g in self.optimizer.param_groups]
        self.optimizer.load_state_dict(state["optimizer"])
        for group, own in zip(self.optimizer.param_groups, how):
            group.update(own)
        self.scheduler.load_state_dict(state["scheduler"])
        if self.lookahead is not None:      # its average, or (a checkpoint without one) the model as loaded
            self.lookahead.load_state_dict(state["lookahead"]) if state.get("lookahead") else self.lookahead.reset()
        self.epoch = int(state["epoch"])
        self.history = [dict(r) for r in state["history"]]
        self.notes = list(state.get("notes", []))
        self._load_generator(state["generator"], state.get("generator_device"))
        torch.set_rng_state(state["torch_rng"])
        cuda_rng = state.get("cuda_rng")
        if isinstance(cuda_rng, (list, tuple)):     # older checkpoints: every GPU's state, by index
            index = (self.device.index or 0) if self.device.type == "cuda" else None
            cuda_rng = cuda_rng[index] if index is not None and index < len(cuda_rng) else None
        if cuda_rng is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(cuda_rng, self.device)

    def _load_generator(self, saved: torch.Tensor, saved_type: str | None) -> None:
        """The data-order generator as saved; from another device type (its state does not fit this one's),
        reseeded from (seed, epoch) with a note: the rest of the run is as random, not the same numbers."""
        saved_type = saved_type or generator_device_type(saved)
        if saved_type == self.device.type:
            self.generator.set_state(saved)
            return
        self.generator.manual_seed(epoch_seed(self.seed, self.epoch))
        note = (f"resumed on {self.device.type} from a checkpoint of a {saved_type} run: data order and "
                f"augmentation reseeded from (seed {self.seed}, epoch {self.epoch}), so epochs after "
                f"{self.epoch} differ from an uninterrupted run")
        self.notes.append(note)
        log.warning("%s", note)
