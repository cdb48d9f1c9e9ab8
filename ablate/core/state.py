"""Everything that changes while a run trains, in one object whose state_dict() is a checkpoint's content.

Resuming from state_dict() after epoch k and training on gives the same numbers as never stopping
(on a CPU, and on CUDA with trainer.deterministic=true): the model with its BatchNorm buffers, the
optimizer's momentum, the schedule's position, the generator that orders the data and draws the
augmentation, the global torch RNGs, and the history so far.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class TrainState:
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator            # data order and augmentation, on the data's device
    epoch: int = 0                         # epochs completed
    history: list[dict] = field(default_factory=list)

    @property
    def best_val_acc(self) -> float | None:
        accs = [r.get("val_acc") for r in self.history]
        return max((a for a in accs if a is not None and a == a), default=None)   # skips None and NaN

    def end_epoch(self, row: dict) -> None:
        self.epoch += 1
        self.history.append(row)

    def state_dict(self) -> dict:
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "epoch": self.epoch,
            "history": [dict(r) for r in self.history],
            "best_val_acc": self.best_val_acc,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if cuda else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        self.epoch = int(state["epoch"])
        self.history = [dict(r) for r in state["history"]]
        torch.set_rng_state(state["torch_rng"])
        cuda_rng = state.get("cuda_rng")
        if cuda_rng is not None and torch.cuda.is_available() and len(cuda_rng) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_rng)
