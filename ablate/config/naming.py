"""Job folder names: the job's overrides (hydra.job.override_dirname), made safe for a file system.

Registered as the OmegaConf resolver `ablate_dirname` when `ablate` is imported, so the launcher's
worker processes, which import ablate to unpickle the sweep callback, resolve it too.
"""
from __future__ import annotations

import hashlib

from omegaconf import OmegaConf

MAX_NAME = 200  # most file systems allow 255 bytes per folder name


def job_dirname(override_dirname: str) -> str:
    name = (override_dirname or "run").replace("/", "_")
    if len(name.encode()) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return name.encode()[: MAX_NAME - 11].decode(errors="ignore") + "_" + digest


def bare_override(override: str) -> str:
    """A Hydra override without its prefix: '+key=v', '++key=v' and '~key=v' -> 'key=v'."""
    return override.lstrip("+~")


def override_key(override: str) -> str:
    """The key (or config group) a Hydra override sets: '++trainer.epochs=9.9' -> 'trainer.epochs'."""
    return bare_override(override).split("=", 1)[0]


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("ablate_dirname"):
        OmegaConf.register_new_resolver("ablate_dirname", job_dirname)
