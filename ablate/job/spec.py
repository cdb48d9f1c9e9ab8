"""The composed config parsed once, at the job's boundary, into one typed value: what the job reads from then on.

JobSpec.from_config checks every key (ablate.config.validate) and builds what can be built before any data loads
(the batch augmentation and mixing, the loss, the model's keys); nothing after it reads the DictConfig. What
depends on the machine or the job folder (the device, the precision a resumed run keeps, the per-batch resize
the data needs) is resolved later, once, by resolved(): the core gets one TrainSettings and never patches it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablate.config.schema import TRAINER_KEYS
from ablate.config.validate import validate
from ablate.core import OptimSettings, ScheduleSettings, TrainSettings
from ablate.core.losses import build_loss
from ablate.data.augment import BatchAugment
from ablate.errors import ConfigError
from ablate.registry import check_values, parameter_hints
from ablate.data.mix import BatchMix
from ablate.models.registry import check_model_keys
from ablate.record.identity import identity


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _typed(cls, values: dict, group: str):
    """cls from the group's keys (its own defaults for keys the group leaves out); lists become tuples. A key
    cls does not have is refused: nothing the user set is dropped unread."""
    unknown = sorted(set(values) - _fields(cls))
    if unknown:
        raise ConfigError(f"{group}.{unknown[0]} is not a {group} key (the {group} keys: "
                          f"{', '.join(sorted(_fields(cls)))}): remove it or fix its spelling")
    defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    check_values(group, values, parameter_hints(cls), defaults)      # types and ranges, from the annotations
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def settings_from_config(config: dict) -> TrainSettings:
    """The training settings of a resolved config (a plain dict: the core never sees Hydra or OmegaConf), with
    device and precision as the user asked (auto stays auto until resolved())."""
    trainer = {k: config["trainer"][k] for k in TRAINER_KEYS if k in _fields(TrainSettings)}
    return TrainSettings(**trainer, seed=int(config["seed"]), loss=dict(config["loss"]),
                         normalize=str(config["data"].get("normalize", "dataset")),
                         optim=_typed(OptimSettings, config["optim"], "optim"),
                         schedule=_typed(ScheduleSettings, config["schedule"], "schedule"))


@dataclass(frozen=True)
class Checkpointing:
    """The trainer keys that say how a job keeps its work (all placement: none changes what it measures)."""
    resume: bool
    every: int
    save_best: bool
    save_model: bool
    keep: bool
    progress: str


@dataclass(frozen=True)
class JobSpec:
    config: dict                 # the whole resolved config, as the record stores it
    identity: dict               # what the run measures (placement keys left out): checkpoints and records match it
    settings: TrainSettings      # as asked: device, precision and the per-batch resize resolved by resolved()
    data: dict                   # the data group: the loader's keys and the split
    model: dict
    loss: dict
    logger: dict | None
    augment: BatchAugment
    mix: BatchMix
    keeping: Checkpointing

    @classmethod
    def from_config(cls, cfg: DictConfig) -> "JobSpec":
        """Every key checked (before any data loads), then the config as one typed value."""
        validate(cfg)
        config = OmegaConf.to_container(cfg, resolve=True)
        aug = config["aug"]
        check_model_keys(config["model"], config["data"].get("image_size"))
        build_loss(config["loss"])     # an unknown loss or key fails here, before data
        t = config["trainer"]
        keeping = Checkpointing(bool(t["resume"]), int(t["checkpoint_every"]), bool(t["save_best"]),
                                bool(t["save_model"]), bool(t["keep_checkpoint"]), str(t["progress"]))
        return cls(config, identity(config), settings_from_config(config), config["data"], config["model"],
                   config["loss"], config.get("logger"), BatchAugment(aug["ops"]), BatchMix(aug.get("mix") or None),
                   keeping)

    @property
    def seed(self) -> int:
        return self.settings.seed

    def resolved(self, **machine: Any) -> TrainSettings:
        """The settings the core trains with: device, precision and image_size (the per-batch resize target,
        None when the data already has the model's input size) fixed by the job, once."""
        unknown = set(machine) - {"device", "precision", "image_size"}
        if unknown:
            raise TypeError(f"resolved() fixes device, precision and image_size only, not {sorted(unknown)}")
        return dataclasses.replace(self.settings, **machine)
