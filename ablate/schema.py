"""The trainer group's keys: the one source of their defaults and types. Hydra validates overrides against it
(registered as trainer_schema, outside every group, which conf/trainer/default.yaml extends), and the training core's
TrainSettings takes its defaults from it. No Hydra import here: ablate.config_store registers it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class TrainerConfig:
    epochs: int = 100
    batch_size: int = 128
    eval_batch_size: int = 1024
    device: str = "auto"            # auto: cuda when available, else cpu; or cpu, cuda, cuda:1
    precision: str = "auto"         # auto: bf16 where the hardware runs it natively (AMX, AVX512-BF16, CUDA); fp32; bf16
    channels_last: bool = True      # NHWC memory layout: 1.26x faster small_cnn training on the CPU (experiments/bench)
    compile: bool = False           # torch.compile the model (under 10% faster on the CPU: off)
    tta: bool = True                # also report flip test-time-augmentation accuracy
    deterministic: bool = False     # torch.use_deterministic_algorithms (slower on GPU)
    cudnn_benchmark: bool = True    # cuDNN autotuning on CUDA (off when deterministic)
    fused_optimizer: bool = True    # one fused kernel for the optimizer step, where torch has one (CUDA; the CPU too)
    progress: str = "auto"          # auto: a bar on a terminal, log lines otherwise; bar | log | none
    # long runs (README "Long runs"): none of these change what a run measures
    checkpoint_every: int = 1       # checkpoint.pt every N epochs (0: never); a rerun resumes from it
    resume: bool = True             # false: ignore an existing checkpoint and start over
    keep_checkpoint: bool = False   # keep checkpoint.pt after the record is complete
    save_model: bool = True         # the final weights as model.pt (model.init_from reads it)
    save_best: bool = False         # also model_best.pt: the best-validation epoch's weights
    # transfer learning in two phases (model.freeze for phase 1): from epoch unfreeze_at + 1 on, every layer
    # trains, at the learning rate times unfreeze_lr_factor
    unfreeze_at: Optional[int] = None
    unfreeze_lr_factor: float = 0.1
