"""The ladder's small CNN and the lessons' other small networks (SimpleCNN, EnhancedCNN, an MLP)."""
from __future__ import annotations

import torch.nn as nn

from ablate.errors import ConfigError
from ablate.models.registry import register_model
from ablate.registry import Fraction, PositiveInt


def conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _dropout(p: float) -> list[nn.Module]:
    if not 0 <= p < 1:
        raise ConfigError(f"model.dropout must be in [0, 1), got {p}: set e.g. model.dropout=0.5")
    return [nn.Dropout(p)] if p > 0 else []


def _widths(name: str, widths, n: int) -> tuple[int, ...]:
    if len(widths) != n:
        raise ConfigError(f"{name} needs {n} widths, got {list(widths)}: set model.widths to a list of {n}")
    return tuple(int(w) for w in widths)


@register_model("small_cnn")
def small_cnn(num_classes: int, image_size: int = 32, in_channels: int = 3,
              widths: list[PositiveInt] = (48, 96, 192, 384), dropout: Fraction = 0.0) -> nn.Sequential:
    """4 conv layers with BatchNorm and ReLU, max-pool after conv 1 and conv 3, global average pool, Linear."""
    w1, w2, w3, w4 = _widths("small_cnn", widths, 4)
    return nn.Sequential(
        *conv_bn(in_channels, w1), nn.MaxPool2d(2),
        *conv_bn(w1, w2),
        *conv_bn(w2, w3), nn.MaxPool2d(2),
        *conv_bn(w3, w4),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), *_dropout(dropout), nn.Linear(w4, num_classes),
    )


def two_conv_trunk(in_channels: int, w1: int, w2: int) -> list[nn.Module]:
    """conv -> ReLU -> pool, twice (no BatchNorm): the lessons' SimpleCNN and EnhancedCNN share it."""
    return [nn.Conv2d(in_channels, w1, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(w1, w2, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Flatten()]


@register_model("simple_cnn")
def simple_cnn(num_classes: int, image_size: int = 32, in_channels: int = 3, widths: list[PositiveInt] = (32, 64),
               dropout: Fraction = 0.0) -> nn.Sequential:
    """2 conv layers (no BatchNorm), a max-pool after each, one Linear on the flattened features."""
    w1, w2 = _widths("simple_cnn", widths, 2)
    side = image_size // 4
    return nn.Sequential(*two_conv_trunk(in_channels, w1, w2), *_dropout(dropout),
                         nn.Linear(w2 * side * side, num_classes))


@register_model("enhanced_cnn")
def enhanced_cnn(num_classes: int, image_size: int = 32, in_channels: int = 3, widths: list[PositiveInt] = (32, 64),
                 hidden: PositiveInt = 128, dropout: Fraction = 0.5) -> nn.Sequential:
    """The lesson's EnhancedCNN: conv32 -> pool -> conv64 -> pool -> FC128 with dropout -> Linear."""
    w1, w2 = _widths("enhanced_cnn", widths, 2)
    side = image_size // 4
    return nn.Sequential(*two_conv_trunk(in_channels, w1, w2), nn.Linear(w2 * side * side, hidden),
                         nn.ReLU(inplace=True), *_dropout(dropout), nn.Linear(hidden, num_classes))


@register_model("mlp")
def mlp(num_classes: int, image_size: int = 32, in_channels: int = 3, hidden: list[PositiveInt] = (512, 256),
        dropout: Fraction = 0.0) -> nn.Sequential:
    """A baseline without convolutions: flatten the image, hidden Linear + ReLU layers, Linear."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_channels * image_size * image_size
    for h in hidden:
        layers += [nn.Linear(width, int(h)), nn.ReLU(inplace=True), *_dropout(dropout)]
        width = int(h)
    return nn.Sequential(*layers, nn.Linear(width, num_classes))
