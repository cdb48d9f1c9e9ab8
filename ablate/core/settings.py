"""Plain settings for one training run (built from the config by ablate.job.run, or by hand)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from ablate.config.schema import TrainerConfig
from ablate.registry import Fraction, NonNegative, Positive, Prob, Range

OpenFraction = Annotated[float, Range(0, 1, low_open=True, high_open=True)]    # in (0, 1)


@dataclass
class OptimSettings:
    name: str = "sgd"            # sgd | adam | adamw
    lr: Positive = 0.1
    momentum: Fraction = 0.0
    weight_decay: NonNegative = 0.0
    nesterov: bool = False
    betas: tuple[Fraction, Fraction] = (0.9, 0.999)
    # the parameters of normalisation layers (BatchNorm, GroupNorm, LayerNorm) train at lr x norm_lr_scale, their
    # weight decay coefficient divided by it (the decay per step unchanged): airbench94 trains its BatchNorm
    # biases at 64 x the lr
    norm_lr_scale: Positive = 1.0


@dataclass
class ScheduleSettings:
    name: str = "constant"       # constant | cosine | step | onecycle | piecewise
    warmup_epochs: NonNegative = 0.0
    milestones: tuple[OpenFraction, ...] = (0.5, 0.75)   # step: fractions of the run
    gamma: Positive = 0.1
    pct_start: OpenFraction = 0.25      # onecycle
    div_factor: Positive = 25.0
    final_div_factor: Positive = 1e4
    knots: tuple[Prob, ...] = (0.0, 1.0)         # piecewise: fractions of the run's steps, rising from 0 to 1 ...
    values: tuple[NonNegative, ...] = (1.0, 1.0)  # ... and the lr multiplier at each, linear in between


_T = TrainerConfig   # the trainer keys' defaults come from the config schema, their one source


@dataclass
class TrainSettings:
    epochs: float = _T.epochs      # a fraction stops inside the last epoch (total_steps)
    batch_size: int = _T.batch_size
    eval_batch_size: int = _T.eval_batch_size
    device: str = _T.device
    precision: str = _T.precision    # fp32 | bf16 | auto (bf16 where the hardware runs it natively)
    channels_last: bool = _T.channels_last
    compile: bool = _T.compile
    tta: bool | str = _T.tta       # True (flip), False, "multicrop" (flip + 1-pixel shifts)
    deterministic: bool = _T.deterministic
    cudnn_benchmark: bool = _T.cudnn_benchmark   # let cuDNN pick the fastest kernels (ignored when deterministic)
    fused_optimizer: bool = _T.fused_optimizer   # one fused kernel for the optimizer step, where torch has one
    seed: int = 0
    loss: dict = field(default_factory=lambda: {"name": "ce"})   # the loss group: its name and keys (core/losses.py)
    unfreeze_at: int | None = _T.unfreeze_at     # transfer learning, phase 2: after this many epochs all layers train
    unfreeze_lr_factor: float = _T.unfreeze_lr_factor  # ... at the lr times this factor (whole model, from then on)
    image_size: int | None = None  # resize each batch to this (data too large to resize once at load)
    normalize: str = "dataset"     # dataset: its channel mean/std; imagenet: ImageNet's (pretrained weights)
    lookahead: bool = _T.lookahead
    lookahead_every: int = _T.lookahead_every
    lookahead_decay: float = _T.lookahead_decay
    lookahead_power: float = _T.lookahead_power
    optim: OptimSettings = field(default_factory=OptimSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
