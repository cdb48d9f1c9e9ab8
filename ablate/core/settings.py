"""Plain settings for one training run (built from the config by ablate.run, or by hand)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OptimSettings:
    name: str = "sgd"            # sgd | adam | adamw
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)


@dataclass
class ScheduleSettings:
    name: str = "constant"       # constant | cosine | step | onecycle
    warmup_epochs: float = 0.0
    milestones: tuple[float, ...] = (0.5, 0.75)   # step: fractions of the run
    gamma: float = 0.1
    pct_start: float = 0.25      # onecycle
    div_factor: float = 25.0
    final_div_factor: float = 1e4


@dataclass
class TrainSettings:
    epochs: int = 10
    batch_size: int = 512
    eval_batch_size: int = 1024
    device: str = "auto"
    precision: str = "fp32"      # fp32 | bf16 | auto (bf16 where the hardware runs it natively)
    channels_last: bool = True
    compile: bool = False
    tta: bool = True
    deterministic: bool = False
    cudnn_benchmark: bool = True   # let cuDNN pick the fastest kernels (ignored when deterministic)
    fused_optimizer: bool = True   # one fused kernel for the optimizer step (CUDA only)
    seed: int = 0
    label_smoothing: float = 0.0
    unfreeze_at: int | None = None   # transfer learning, phase 2: after this many epochs every layer trains
    unfreeze_lr_factor: float = 1.0  # ... at the lr times this factor (the whole model, from then on)
    image_size: int | None = None  # resize each batch to this (data too large to resize once at load)
    normalize: str = "dataset"     # dataset: its channel mean/std; imagenet: ImageNet's (pretrained weights)
    optim: OptimSettings = field(default_factory=OptimSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
