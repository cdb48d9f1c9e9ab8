"""Optimizers and per-step learning-rate schedules made by name."""
from __future__ import annotations

import math
from typing import Callable, Iterable

import torch

from ablate.core.settings import OptimSettings, ScheduleSettings
from ablate.registry import Registry


OPTIMIZERS = Registry("optimizer", "optim.name", "ablate/core/optim.py (with @OPTIMIZERS.register) and conf/optim/")
SCHEDULES = Registry("schedule", "schedule.name", "ablate/core/optim.py (with @SCHEDULES.register) and conf/schedule/")


@OPTIMIZERS.register("sgd")
def sgd(params, s: OptimSettings, extra: dict):
    return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay, nesterov=s.nesterov,
                           **extra)


@OPTIMIZERS.register("adam")
def adam(params, s: OptimSettings, extra: dict):
    return torch.optim.Adam(params, lr=s.lr, betas=tuple(s.betas), weight_decay=s.weight_decay, **extra)


@OPTIMIZERS.register("adamw")
def adamw(params, s: OptimSettings, extra: dict):
    return torch.optim.AdamW(params, lr=s.lr, betas=tuple(s.betas), weight_decay=s.weight_decay, **extra)


NORM_LAYERS = (torch.nn.modules.batchnorm._NormBase, torch.nn.GroupNorm, torch.nn.LayerNorm)


def param_groups(model: torch.nn.Module, s: OptimSettings) -> list:
    """The model's parameters for the optimizer: one group, or with optim.norm_lr_scale != 1 two, the second
    holding the normalisation layers' parameters at lr x scale and weight decay / scale (the same decay per
    step). The first group is the rest, at optim.lr: the one the history's lr column shows."""
    if s.norm_lr_scale == 1:
        return list(model.parameters())
    norm = {id(p) for m in model.modules() if isinstance(m, NORM_LAYERS) for p in m.parameters(recurse=False)}
    rest = [p for p in model.parameters() if id(p) not in norm]
    scaled = [p for p in model.parameters() if id(p) in norm]
    return [{"params": rest}, {"params": scaled, "lr": s.lr * s.norm_lr_scale,
                               "weight_decay": s.weight_decay / s.norm_lr_scale}]


def build_optimizer(params: Iterable, s: OptimSettings, fused: bool = False, include_frozen: bool = False):
    """params: parameters, or param_groups() dicts. include_frozen: frozen parameters too (no gradient: the
    step skips them until they are unfrozen)."""
    def kept(ps):
        return [p for p in ps if p.requires_grad or include_frozen]

    params = list(params)
    if params and isinstance(params[0], dict):
        params = [g for g in ({**g, "params": kept(g["params"])} for g in params) if g["params"]]
    else:
        params = kept(params)
    build = OPTIMIZERS.get(s.name)
    if fused:
        try:
            return build(params, s, {"fused": True})
        except TypeError as e:     # an optimizer (or a torch: SGD before 2.3) without a fused step
            if "fused" not in str(e):
                raise
    return build(params, s, {})


def fill_momentum_buffers(optimizer: torch.optim.Optimizer) -> None:
    """Zero momentum buffers for SGD parameters that have none yet (frozen until now). A fused SGD step needs a
    buffer for every parameter it updates; with no dampening a zero buffer gives the same first step as the
    unfused optimizer's (buffer = gradient), bit for bit."""
    if not isinstance(optimizer, torch.optim.SGD):
        return
    for group in optimizer.param_groups:
        if not group["momentum"]:
            continue
        for p in group["params"]:
            state = optimizer.state[p]
            if state.get("momentum_buffer") is None:
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)


# each schedule: the lr multiplier at progress t in [0, 1] through the run (warm-up is applied on top)
@SCHEDULES.register("constant")
def constant(t: float, s: ScheduleSettings) -> float:
    return 1.0


@SCHEDULES.register("cosine")
def cosine(t: float, s: ScheduleSettings) -> float:
    return 0.5 * (1 + math.cos(math.pi * t))


@SCHEDULES.register("step")
def step(t: float, s: ScheduleSettings) -> float:
    return s.gamma ** sum(t >= m for m in s.milestones)


@SCHEDULES.register("onecycle")
def onecycle(t: float, s: ScheduleSettings) -> float:
    start, peak_at = 1 / s.div_factor, s.pct_start
    end = 1 / (s.div_factor * s.final_div_factor)
    if t < peak_at:
        return start + (1 - start) * t / peak_at
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * (t - peak_at) / (1 - peak_at)))


@SCHEDULES.register("piecewise")
def piecewise(t: float, s: ScheduleSettings) -> float:
    """Linear between (knots[i], values[i]): e.g. knots [0, 0.23, 1], values [0.2, 1, 0.07] rises from 0.2 x lr
    to lr over the first 23% of the steps, then falls to 0.07 x lr at the end (airbench94's)."""
    knots, values = s.knots, s.values
    for (t0, v0), (t1, v1) in zip(zip(knots, values), zip(knots[1:], values[1:])):
        if t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1
    return values[-1]


def lr_factor(s: ScheduleSettings, total_steps: int, steps_per_epoch: int) -> Callable[[int], float]:
    """Multiplier of the base lr at each optimizer step (0-based), warm-up included."""
    warmup = int(round(s.warmup_epochs * steps_per_epoch))
    total = max(total_steps, 1)
    shape = SCHEDULES.get(s.name)   # fails on an unknown name now, not at the first step

    def factor(step: int) -> float:
        f = shape(min(step / total, 1.0), s)
        if step < warmup:
            f *= (step + 1) / warmup
        return f

    return factor
