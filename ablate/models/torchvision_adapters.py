"""torchvision ResNets and VGG-16s for small images: a CIFAR stem or the ImageNet one, a choice of head,
ImageNet weights from the torch hub cache (or a file), and freezing for transfer learning."""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

import torch
import torch.nn as nn
import torchvision

from ablate.errors import ConfigError, ModelError
from ablate.models.freeze import freeze
from ablate.models.registry import register_model
from ablate.registry import Fraction, PositiveInt

FETCH_TIMEOUT_S = 30


def _pretrained(value) -> bool | str:
    """model.pretrained: false, true (ImageNet weights through the torch hub cache) or a weights file."""
    if isinstance(value, bool) or (isinstance(value, str) and value.endswith((".pth", ".pt"))):
        return value
    raise ConfigError(f"model.pretrained must be true, false or a .pth/.pt weights file, got {value!r}: set "
                      f"model.pretrained=true or model.pretrained=false")


def _get(name: str, pretrained: bool | str) -> nn.Module:
    """The torchvision model, with ImageNet weights when asked: from a file, else the hub cache / download."""
    if isinstance(pretrained, str):
        model = torchvision.models.get_model(name, weights=None)
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise ModelError(f"model.pretrained={pretrained}: no such file: put the {name} ImageNet weights there "
                             f"(torchvision's file, e.g. from a machine with internet: $TORCH_HOME/hub/checkpoints/)")
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model
    weights = torchvision.models.get_model_weights(name).DEFAULT if pretrained else None
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(FETCH_TIMEOUT_S)  # an unreachable host fails within this, never hangs
    try:
        return torchvision.models.get_model(name, weights=weights)
    except Exception as e:
        if weights is None:
            raise
        cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        raise ModelError(
            f"could not fetch pretrained weights for {name} from {weights.url} ({type(e).__name__}: {e}): "
            f"connect to the internet once (torch caches them), or copy the file by hand to {cache} "
            f"(or set model.pretrained=/path/to/file.pth), or set model.pretrained=false") from None
    finally:
        socket.setdefaulttimeout(old)


CIFAR_STEM_MAX = 128   # images this large or larger: the CIFAR stem keeps layer1 at full size (out of memory)


def check_stem(name: str, image_size: int, stem: str = "cifar", **_) -> None:
    """The CIFAR stem (stride 1, no max-pool) on large images keeps layer1 at the full image size: at 224 px a
    ResNet-50 costs 63.6 GMAC per image (4.1 with the ImageNet stem) and ~120 GB of activations at batch 128."""
    if stem == "cifar" and image_size >= CIFAR_STEM_MAX:
        raise ConfigError(f"{name} with model.stem=cifar on {image_size}x{image_size} images keeps its first block "
                          f"at {image_size}x{image_size} (about 16x the compute and memory of the ImageNet stem): set "
                          f"model.stem=imagenet (images of {CIFAR_STEM_MAX} px or more), or a smaller "
                          f"data.image_size")


def cifar_resnet(name: str, num_classes: int, pretrained: bool | str = False, in_channels: int = 3,
                 stem: str = "cifar") -> nn.Module:
    """A torchvision ResNet. stem=cifar: stride-1 first conv and no max-pool (from scratch the first conv is
    3x3; with pretrained weights the 7x7 kernel is kept and only its stride changes, so they still fit).
    stem=imagenet: the stock stem, which shrinks a 32x32 image to 8x8 before the first block."""
    if stem not in ("cifar", "imagenet"):
        raise ConfigError(f"model.stem={stem!r} is unknown: use cifar or imagenet")
    if pretrained and in_channels != 3:
        raise ModelError(f"pretrained {name} weights take 3-channel images, the data has {in_channels}: set "
                         f"model.pretrained=false")
    model = _get(name, pretrained)
    if stem == "cifar":
        if pretrained:
            model.conv1.stride = (1, 1)
        else:
            model.conv1 = nn.Conv2d(in_channels, model.conv1.out_channels, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, model.conv1.out_channels, 7, stride=2, padding=3, bias=False)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


def vgg_head(kind: str, channels: int, side: int, num_classes: int, hidden: int, dropout: float) -> tuple:
    """(avgpool, classifier): gap_linear = global average pool + Linear; flatten_dense = the Keras lesson's
    Flatten -> Dense(hidden) -> ReLU (-> Dropout) -> Dense(num_classes)."""
    if kind == "gap_linear":
        return nn.AdaptiveAvgPool2d(1), nn.Linear(channels, num_classes)
    if kind == "flatten_dense":
        drop = [nn.Dropout(dropout)] if dropout > 0 else []
        return nn.Identity(), nn.Sequential(nn.Linear(channels * side * side, hidden), nn.ReLU(inplace=True), *drop,
                                            nn.Linear(hidden, num_classes))
    raise ConfigError(f"model.head={kind!r} is unknown: use gap_linear or flatten_dense")


def small_vgg(name: str, num_classes: int, image_size: int, pretrained: bool | str = False, in_channels: int = 3,
              head: str = "gap_linear", hidden: int = 128, dropout: float = 0.0) -> nn.Module:
    """VGG-16 (with or without BatchNorm) on small images: its five pools leave image_size / 32 pixels a side."""
    if image_size < 32:
        raise ConfigError(f"{name} halves the image five times: {image_size}x{image_size} images vanish before "
                          f"the head. Fix: use a model for small images (small_cnn, enhanced_cnn) or resize the "
                          f"data to at least 32x32 (data.image_size=32)")
    model = _get(name, pretrained)
    if in_channels != 3:
        if pretrained:
            raise ModelError(f"pretrained {name} weights take 3-channel images, the data has {in_channels}: "
                             f"set model.pretrained=false")
        model.features[0] = nn.Conv2d(in_channels, 64, 3, padding=1)
    model.avgpool, model.classifier = vgg_head(head, 512, image_size // 32, num_classes, hidden, dropout)
    return model


def _resnet(name: str):
    def build(num_classes: int, image_size: int = 32, in_channels: int = 3, pretrained: bool | str = False,
              freeze: bool | list = False, stem: Literal["cifar", "imagenet"] = "cifar") -> nn.Module:
        check_stem(name, image_size, stem)
        model = cifar_resnet(name, num_classes, _pretrained(pretrained), in_channels, stem)
        return freeze_model(model, freeze)
    build.__name__ = name
    build.precheck = lambda image_size, **keys: image_size is None or check_stem(name, image_size, **keys)
    return register_model(name)(build)


def _vgg(name: str):
    def build(num_classes: int, image_size: int = 32, in_channels: int = 3, pretrained: bool | str = False,
              freeze: bool | list = False, head: Literal["gap_linear", "flatten_dense"] = "gap_linear",
              hidden: PositiveInt = 128, dropout: Fraction = 0.0) -> nn.Module:
        model = small_vgg(name, num_classes, image_size, _pretrained(pretrained), in_channels, head, hidden, dropout)
        return freeze_model(model, freeze)
    build.__name__ = name
    return register_model(name)(build)


def freeze_model(model: nn.Module, parts) -> nn.Module:
    return freeze(model, parts, head=model.fc if hasattr(model, "fc") else model.classifier)


resnet18, resnet50 = _resnet("resnet18"), _resnet("resnet50")
vgg16, vgg16_bn = _vgg("vgg16"), _vgg("vgg16_bn")
