"""Datasets built by name from plain keyword arguments (the `data` config group)."""
from __future__ import annotations

from ablate.data.dataset import ImageData
from ablate.errors import ConfigError


def load_dataset(name: str, **cfg) -> ImageData:
    if name in ("cifar10", "cifar100"):
        from ablate.data.cifar import load_cifar
        return load_cifar(name, cfg["root"], bool(cfg.get("download", False)))
    if name == "imagefolder":
        from ablate.data.imagefolder import load_imagefolder
        return load_imagefolder(cfg["root"], int(cfg.get("image_size", 32)), bool(cfg.get("resize", False)))
    if name == "synthetic":
        from ablate.data.synthetic import load_synthetic
        keys = ("num_train", "num_test", "num_classes", "image_size", "noise")
        return load_synthetic(**{k: cfg[k] for k in keys if k in cfg})
    raise ConfigError(f"unknown dataset data.name={name!r}: use data=cifar10, cifar100, imagefolder or synthetic")
