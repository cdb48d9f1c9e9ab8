"""Plain settings for one training run (built from the config by ablate.job.run, or by hand)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from ablate.config.schema import TrainerConfig
from ablate.registry import Fraction, NonNegative, Positive, Range

OpenFraction = Annotated[float, Range(0, 1, low_open=True, high_open=True)]    # in (0, 1)


@dataclass
class OptimSettings:
    name: str = "sgd"            # sgd | adam | adamw
    lr: Positive = 0.1
    momentum: Fraction = 0.0
    weight_decay: NonNegative = 0.0
    nesterov: bool = False
    betas: tuple[Fraction, Fraction] = (0.9, 0.999)


@dataclass
class ScheduleSettings:
    name: str = "constant"       # constant | cosine | step | onecycle
    warmup_epochs: NonNegative = 0.0
    milestones: tuple[OpenFraction, ...] = (0.5, 0.75)   # step: fractions of the run
    gamma: Positive = 0.1
    pct_start: OpenFraction = 0.25      # onecycle
    div_factor: Positive = 25.0
    final_div_factor: Positive = 1e4


_T = TrainerConfig   # the trainer keys' defaults come from the config schema, their one source


@dataclass
class TrainSettings:
    epochs: int = _T.epochs
    batch_size: int = _T.batch_size
    eval_batch_size: int = _T.eval_batch_size
    device: str = _T.device
    precision: str = _T.precision    # fp32 | bf16 | auto (bf16 where the hardware runs it natively)
    channels_last: bool = _T.channels_last
    compile: bool = _T.compile
    tta: bool = _T.tta
    deterministic: bool = _T.deterministic
    cudnn_benchmark: bool = _T.cudnn_benchmark   # let cuDNN pick the fastest kernels (ignored when deterministic)
    fused_optimizer: bool = _T.fused_optimizer   # one fused kernel for the optimizer step, where torch has one
    seed: int = 0
    loss: dict = field(default_factory=lambda: {"name": "ce"})   # the loss group: its name and keys (core/losses.py)
    unfreeze_at: int | None = _T.unfreeze_at     # transfer learning, phase 2: after this many epochs all layers train
    unfreeze_lr_factor: float = _T.unfreeze_lr_factor  # ... at the lr times this factor (whole model, from then on)
    image_size: int | None = None  # resize each batch to this (data too large to resize once at load)
    normalize: str = "dataset"     # dataset: its channel mean/std; imagenet: ImageNet's (pretrained weights)
    optim: OptimSettings = field(default_factory=OptimSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
