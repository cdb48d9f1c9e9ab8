"""Models built by name from plain keyword arguments (the `model` config group)."""
from __future__ import annotations

import torch.nn as nn

from ablate.errors import ConfigError
from ablate.models.small_cnn import simple_cnn, small_cnn
from ablate.models.torchvision_adapters import cifar_resnet, cifar_vgg16_bn, freeze_features

MODELS = ("small_cnn", "simple_cnn", "resnet18", "resnet50", "vgg16_bn")


def build_model(name: str, num_classes: int, image_size: int = 32, **cfg) -> nn.Module:
    if name == "small_cnn":
        return small_cnn(num_classes, tuple(cfg.get("widths", (64, 128, 256, 512))))
    if name == "simple_cnn":
        return simple_cnn(num_classes, tuple(cfg.get("widths", (32, 64))), image_size=image_size)
    if name in ("resnet18", "resnet50", "vgg16_bn"):
        pretrained = bool(cfg.get("pretrained", False))
        model = (cifar_vgg16_bn(num_classes, pretrained) if name == "vgg16_bn"
                 else cifar_resnet(name, num_classes, pretrained))
        return freeze_features(model) if cfg.get("freeze", False) else model
    raise ConfigError(f"unknown model model.name={name!r}: use one of {', '.join(MODELS)}")
