"""Structured configs for Hydra: the schemas of ablate.schema, registered where the YAML groups find them."""
from __future__ import annotations

from hydra.core.config_store import ConfigStore

from ablate.schema import TrainerConfig


def register_configs() -> None:
    ConfigStore.instance().store(group="trainer", name="schema", node=TrainerConfig)
