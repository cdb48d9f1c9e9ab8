"""Models built by name (the `model` config group): each is a function registered with @register_model
that takes num_classes, image_size and in_channels (from the data) plus its own config keys."""
from __future__ import annotations

import torch.nn as nn

from ablate.registry import Registry

MODELS = Registry("model", "model.name", "ablate/models/ (with @register_model) and conf/model/")
register_model = MODELS.register
FROM_DATA = ("num_classes", "image_size", "in_channels")
NOT_BUILD_KEYS = ("init_from",)   # run-level keys of the model group, not the builder's


def build_model(name: str, num_classes: int, image_size: int = 32, in_channels: int = 3, **cfg) -> nn.Module:
    params = {k: v for k, v in cfg.items() if k not in NOT_BUILD_KEYS}
    return MODELS.build(name, fixed=FROM_DATA, num_classes=num_classes, image_size=image_size,
                        in_channels=in_channels, **params)


def check_model_keys(cfg: dict, image_size: int | None = None) -> None:
    """The model group's keys against its builder's parameters, before any data is loaded; and the builder's own
    checks, when it has them (a `precheck(image_size, **keys)` attribute; image_size is None when the config does
    not fix it): a ResNet's CIFAR stem refusing 224-pixel images, an unknown timm architecture."""
    params = {k: v for k, v in cfg.items() if k not in NOT_BUILD_KEYS and k != "name"}
    MODELS.check(cfg.get("name"), params, fixed=FROM_DATA)
    precheck = getattr(MODELS.get(cfg.get("name")), "precheck", None)
    if precheck is not None:
        precheck(None if image_size is None else int(image_size), **params)
