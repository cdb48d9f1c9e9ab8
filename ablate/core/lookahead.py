"""Lookahead as airbench94 uses it (trainer.lookahead): every `every` steps the model's floating-point state
(weights and BatchNorm statistics) moves into an exponential moving average and is reset to it; the average's
decay grows as decay x (step / total)^power, so early steps are barely averaged and late ones strongly; at the
last step the model becomes the average. The average is kept in float32 beside the float32 weights (bf16
autocast leaves the parameters in float32), and travels in the checkpoint for an exact resume."""
from __future__ import annotations

import torch


class Lookahead:
    def __init__(self, model: torch.nn.Module, total_steps: int, every: int = 5, decay: float = 0.95 ** 5,
                 power: float = 3.0):
        self.model, self.total, self.every, self.decay, self.power = model, max(total_steps, 1), every, decay, power
        self.average = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    def reset(self) -> None:
        """The average restarted from the model as it is (after an initialisation from the data)."""
        for k, v in self.model.state_dict().items():
            if k in self.average:
                self.average[k].copy_(v)

    def after_step(self, step: int) -> None:
        """Called after optimizer step number `step` (from 1)."""
        if step % self.every == 0:
            self.update(self.decay * (step / self.total) ** self.power)
        if step >= self.total:
            self.update(1.0)            # the last step: the model is the average

    @torch.no_grad()
    def update(self, decay: float) -> None:
        for k, v in self.model.state_dict().items():
            if k in self.average:
                self.average[k].lerp_(v, 1 - decay)
                v.copy_(self.average[k])

    def state_dict(self) -> dict:
        return {k: v.clone() for k, v in self.average.items()}

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            self.average[k].copy_(v)
