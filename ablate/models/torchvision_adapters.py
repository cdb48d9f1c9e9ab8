"""torchvision models adapted to 32x32 input, with optional ImageNet weights and a frozen feature extractor."""
from __future__ import annotations

import socket

import torch.nn as nn
import torchvision

from ablate.errors import ConfigError, ModelError
from ablate.models.registry import register_model

FETCH_TIMEOUT_S = 30


def _weights(name: str, pretrained: bool):
    if not pretrained:
        return None
    return torchvision.models.get_model_weights(name).DEFAULT


def _get(name: str, pretrained: bool) -> nn.Module:
    weights = _weights(name, pretrained)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(FETCH_TIMEOUT_S)  # an unreachable host fails within this, never hangs
    try:
        return torchvision.models.get_model(name, weights=weights)
    except Exception as e:
        if weights is None:
            raise
        raise ModelError(
            f"could not fetch pretrained weights for {name} from {weights.url} ({type(e).__name__}: {e}): "
            f"connect to the internet once (torch caches them under $TORCH_HOME/hub/checkpoints), or copy "
            f"the file there by hand, or set model.pretrained=false") from None
    finally:
        socket.setdefaulttimeout(old)


def _flag(key: str, value) -> bool:
    """model.pretrained / model.freeze: a real boolean, never a word that would be taken as true."""
    if not isinstance(value, bool):
        raise ConfigError(f"model.{key} must be true or false, got {value!r}: set model.{key}=true or "
                          f"model.{key}=false")
    return value


def cifar_resnet(name: str, num_classes: int, pretrained: bool = False, in_channels: int = 3) -> nn.Module:
    """A torchvision ResNet with the CIFAR stem: stride-1 first conv, no max-pool.

    From scratch the first conv is 3x3 (the usual CIFAR ResNet); with pretrained weights the 7x7 ImageNet
    kernel is kept and only its stride changes, so the weights still fit.
    """
    if pretrained and in_channels != 3:
        raise ModelError(f"pretrained {name} weights take 3-channel images, the data has {in_channels}: set "
                         f"model.pretrained=false")
    model = _get(name, pretrained)
    if pretrained:
        model.conv1.stride = (1, 1)
    else:
        model.conv1 = nn.Conv2d(in_channels, model.conv1.out_channels, 3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


def cifar_vgg16_bn(num_classes: int, pretrained: bool = False, in_channels: int = 3) -> nn.Module:
    """VGG-16-BN whose 1x1 feature map (after 5 pools of a 32x32 input) feeds one Linear head."""
    model = _get("vgg16_bn", pretrained)
    if in_channels != 3:
        if pretrained:
            raise ModelError(f"pretrained vgg16_bn weights take 3-channel images, the data has {in_channels}: "
                             f"set model.pretrained=false")
        model.features[0] = nn.Conv2d(in_channels, 64, 3, padding=1)
    model.avgpool = nn.AdaptiveAvgPool2d(1)
    model.classifier = nn.Linear(512, num_classes)
    return model


def _resnet(name: str):
    def build(num_classes: int, image_size: int = 32, in_channels: int = 3, pretrained: bool = False,
              freeze: bool = False) -> nn.Module:
        model = cifar_resnet(name, num_classes, _flag("pretrained", pretrained), in_channels)
        return freeze_features(model) if _flag("freeze", freeze) else model
    build.__name__ = name
    return register_model(name)(build)


resnet18, resnet50 = _resnet("resnet18"), _resnet("resnet50")


@register_model("vgg16_bn")
def vgg16_bn(num_classes: int, image_size: int = 32, in_channels: int = 3, pretrained: bool = False,
             freeze: bool = False) -> nn.Module:
    if image_size < 32:
        raise ConfigError(f"vgg16_bn halves the image five times: {image_size}x{image_size} images vanish before "
                          f"the head. Fix: use a model for small images (small_cnn, enhanced_cnn) or resize the "
                          f"data to at least 32x32")
    model = cifar_vgg16_bn(num_classes, _flag("pretrained", pretrained), in_channels)
    return freeze_features(model) if _flag("freeze", freeze) else model


def head_of(model: nn.Module) -> nn.Module:
    return model.fc if hasattr(model, "fc") else model.classifier


def freeze_features(model: nn.Module) -> nn.Module:
    """Train only the classification head (transfer learning)."""
    for p in model.parameters():
        p.requires_grad_(False)
    for p in head_of(model).parameters():
        p.requires_grad_(True)
    return model
