"""Structured configs for Hydra: the schemas of ablate.config.schema, registered where the YAML groups find them."""
from __future__ import annotations

from hydra.core.config_store import ConfigStore

from ablate.config.schema import TrainerConfig


def register_configs() -> None:
    # Stored outside every group, so `--help` does not offer it as a trainer to pick.
    ConfigStore.instance().store(name="trainer_schema", node=TrainerConfig)
