"""The ladder's small CNNs."""
from __future__ import annotations

import torch.nn as nn


def conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def small_cnn(num_classes: int, widths=(64, 128, 256, 512), in_channels: int = 3) -> nn.Sequential:
    """4 conv layers with BatchNorm and ReLU, max-pool after conv 1 and conv 3, global average pool, Linear."""
    if len(widths) != 4:
        raise ValueError(f"small_cnn needs 4 widths, got {list(widths)}")
    w1, w2, w3, w4 = widths
    return nn.Sequential(
        *conv_bn(in_channels, w1), nn.MaxPool2d(2),
        *conv_bn(w1, w2),
        *conv_bn(w2, w3), nn.MaxPool2d(2),
        *conv_bn(w3, w4),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w4, num_classes),
    )


def simple_cnn(num_classes: int, widths=(32, 64), in_channels: int = 3, image_size: int = 32) -> nn.Sequential:
    """2 conv layers (no BatchNorm), a max-pool after each, one Linear on the flattened features."""
    if len(widths) != 2:
        raise ValueError(f"simple_cnn needs 2 widths, got {list(widths)}")
    w1, w2 = widths
    side = image_size // 4
    return nn.Sequential(
        nn.Conv2d(in_channels, w1, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(w1, w2, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(w2 * side * side, num_classes),
    )
