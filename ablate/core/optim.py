"""Optimizers and per-step learning-rate schedules made by name."""
from __future__ import annotations

import math
from typing import Callable, Iterable

import torch

from ablate.core.settings import OptimSettings, ScheduleSettings
from ablate.errors import ConfigError


def build_optimizer(params: Iterable[torch.nn.Parameter], s: OptimSettings, fused: bool = False,
                    include_frozen: bool = False):
    """include_frozen: frozen parameters too (no gradient: the step skips them until they are unfrozen)."""
    params = [p for p in params if p.requires_grad or include_frozen]
    extra = {"fused": True} if fused else {}
    if s.name == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay,
                               nesterov=s.nesterov, **extra)
    if s.name in ("adam", "adamw"):
        cls = torch.optim.Adam if s.name == "adam" else torch.optim.AdamW
        return cls(params, lr=s.lr, betas=tuple(s.betas), weight_decay=s.weight_decay, **extra)
    raise ConfigError(f"unknown optimizer optim.name={s.name!r}: use sgd, adam or adamw")


def lr_factor(s: ScheduleSettings, total_steps: int, steps_per_epoch: int) -> Callable[[int], float]:
    """Multiplier of the base lr at each optimizer step (0-based), warm-up included."""
    warmup = int(round(s.warmup_epochs * steps_per_epoch))
    total = max(total_steps, 1)

    def shape(t: float) -> float:  # t in [0, 1]: progress through the run
        if s.name == "constant":
            return 1.0
        if s.name == "cosine":
            return 0.5 * (1 + math.cos(math.pi * t))
        if s.name == "step":
            return s.gamma ** sum(t >= m for m in s.milestones)
        if s.name == "onecycle":
            start, peak_at = 1 / s.div_factor, s.pct_start
            end = 1 / (s.div_factor * s.final_div_factor)
            if t < peak_at:
                return start + (1 - start) * t / peak_at
            return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * (t - peak_at) / (1 - peak_at)))
        raise ConfigError(f"unknown schedule schedule.name={s.name!r}: use constant, cosine, step or onecycle")

    shape(0.0)  # fail on an unknown name now, not at the first step

    def factor(step: int) -> float:
        f = shape(min(step / total, 1.0))
        if step < warmup:
            f *= (step + 1) / warmup
        return f

    return factor
