"""Structured configs for Hydra: the schemas of ablate.config.schema, registered where the YAML groups find them."""
from __future__ import annotations

import dataclasses

from hydra.core.config_store import ConfigStore

from ablate.config.schema import DataSplitConfig, TrainerConfig


def register_configs() -> None:
    # Stored outside every group, so `--help` does not offer it as a trainer to pick.
    ConfigStore.instance().store(name="trainer_schema", node=TrainerConfig)
    # the data options' shared keys and defaults, as a plain mapping: each option adds its loader's own keys,
    # which a structured node would refuse (their checks run in ablate.config.validate, from the same schema)
    ConfigStore.instance().store(name="data_split", node=dataclasses.asdict(DataSplitConfig()))
