"""The trainer group's keys and the keys every data option shares: the one source of their defaults, types, allowed values and whether a key is placement
(where and how a run goes, never what it measures). Hydra validates overrides against it (registered as
trainer_schema, outside every group, which conf/trainer/default.yaml extends); the training core's TrainSettings
takes its defaults from it, ablate.config.validate its range checks, ablate.record.identity its placement keys. No Hydra
import here: ablate.config.config_store registers it."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from numbers import Real
from typing import Any, Callable, Optional


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def key(default, check: tuple[Callable, str, str] | None = None, placement: bool = False):
    """A trainer key: its default; (predicate, what it must be, an example) checked before any work; whether it
    is placement (left out of a run's identity and of its folder name)."""
    return field(default=default, metadata={"check": check, "placement": placement})


POSITIVE_INT = (lambda v: _int(v) and v > 0, "a positive integer", "10")


@dataclass
class TrainerConfig:
    # a fraction (e.g. 9.9) stops inside the last epoch, at ceil(epochs x steps per epoch) steps in all
    epochs: Any = key(100, (lambda v: _num(v) and v > 0, "a positive number of epochs (e.g. 10, or 9.9)", "10"))
    batch_size: int = key(128, (POSITIVE_INT[0], "a positive integer", "512"))
    eval_batch_size: int = key(1024, (POSITIVE_INT[0], "a positive integer", "1024"))
    # auto: cuda when available, else cpu; or cpu, cuda, cuda:1, mps
    device: str = key("auto", (lambda v: isinstance(v, str) and v.split(":")[0] in ("auto", "cpu", "cuda", "mps"),
                               "auto, cpu, cuda or cuda:N", "auto"), placement=True)
    # auto: bf16 where the hardware runs it natively (AMX, AVX512-BF16, CUDA capability >= 8.0); fp32; bf16
    precision: str = key("auto", (lambda v: v in ("auto", "fp32", "bf16"), "auto, fp32 or bf16", "auto"))
    channels_last: bool = key(True)     # NHWC memory layout: 1.26x faster small_cnn training on the CPU (experiments/bench)
    compile: bool = key(False)          # torch.compile the model (under 10% faster on the CPU: off)
    # test-time augmentation also reported: true (flip), false, or multicrop (flip and 1-pixel shifts, 6 views:
    # airbench94's; the record then holds the flip and the multi-crop accuracy both)
    tta: Any = key(True, (lambda v: isinstance(v, bool) or v == "multicrop", "true (flip), false or multicrop", "multicrop"))
    deterministic: bool = key(False)    # torch.use_deterministic_algorithms (slower on GPU)
    cudnn_benchmark: bool = key(True)   # cuDNN autotuning on CUDA (off when deterministic)
    fused_optimizer: bool = key(True)   # one fused kernel for the optimizer step, where torch has one (CUDA; the CPU too)
    # auto: a bar on a terminal, log lines otherwise; bar | log | none
    progress: str = key("auto", (lambda v: v in ("auto", "bar", "log", "none"), "auto, bar, log or none", "log"),
                        placement=True)
    # long runs (docs/long-runs.md): none of these change what a run measures
    checkpoint_every: int = key(1, (lambda v: _int(v) and v >= 0, "an integer >= 0 (0: no checkpoints)", "1"),
                                placement=True)         # checkpoint.pt every N epochs; a rerun resumes from it
    resume: bool = key(True, placement=True)           # false: ignore an existing checkpoint and start over
    keep_checkpoint: bool = key(False, placement=True)  # keep checkpoint.pt after the record is complete
    save_model: bool = key(True, placement=True)       # the final weights as model.pt (model.init_from reads it)
    save_best: bool = key(False, placement=True)       # also model_best.pt: the best-validation epoch's weights
    # transfer learning in two phases (model.freeze for phase 1): from epoch unfreeze_at + 1 on, every layer
    # trains, at the learning rate times unfreeze_lr_factor
    unfreeze_at: Optional[int] = key(None, (lambda v: v is None or (_int(v) and v >= 0), "null or an epoch count", "5"))
    unfreeze_lr_factor: float = key(0.1, (lambda v: _num(v) and v > 0, "a positive number", "0.1"))
    # lookahead (airbench94's; core/lookahead.py): every lookahead_every steps the weights move into an average
    # and reset to it, its decay lookahead_decay x (step / total)^lookahead_power; the final model is the average
    lookahead: bool = key(False)
    lookahead_every: int = key(5, POSITIVE_INT)
    lookahead_decay: float = key(0.95 ** 5, (lambda v: _num(v) and 0 <= v <= 1, "a number in [0, 1]", "0.7738"))
    lookahead_power: float = key(3.0, (lambda v: _num(v) and v >= 0, "a number >= 0", "3"))


@dataclass
class DataSplitConfig:
    """The keys every dataset has (conf/data/*.yaml extend data_split and add their loader's own keys): where it
    is, the split, and what the core does with the images."""
    root: Optional[str] = key(None, placement=True)     # the folder that holds the dataset (or where to download it)
    download: bool = key(False, placement=True)         # fetch the official files when they are missing
    # stratified, seeded, carved out of train; 0 disables validation
    val_size: int = key(5000, (lambda v: _int(v) and v >= 0, "an integer >= 0", "5000"))
    split_seed: int = key(0, (lambda v: _int(v) and v >= 0, "an integer >= 0", "0"))   # the val split, fixed across seeds
    # null or N: a seeded stratified subset of the training split
    train_subset: Optional[int] = key(None, (lambda v: v is None or (_int(v) and v > 0), "null or a positive integer",
                                             "5000"))
    # null: as stored; e.g. 64 or 224 for ImageNet networks (resized on the device)
    image_size: Optional[int] = key(None, (lambda v: v is None or (_int(v) and v >= 8), "null or an integer >= 8", "64"))
    # dataset: its own channel mean/std; imagenet: ImageNet's (for pretrained weights)
    normalize: str = key("dataset", (lambda v: v in ("dataset", "imagenet"), "dataset or imagenet", "imagenet"))


SCHEMAS = {"trainer": TrainerConfig, "data": DataSplitConfig}    # group -> the schema of its shared keys


def checks(group: str) -> list[tuple[str, Callable, str, str]]:
    """(GROUP.KEY, predicate, what it must be, example) for every key of the group's schema with a check."""
    return [(f"{group}.{f.name}", *f.metadata["check"]) for f in fields(SCHEMAS[group]) if f.metadata.get("check")]


def placement_keys(group: str) -> tuple[str, ...]:
    return tuple(f"{group}.{f.name}" for f in fields(SCHEMAS[group]) if f.metadata.get("placement"))



TRAINER_KEYS = tuple(f.name for f in fields(TrainerConfig))
