"""Training losses made by name (the `loss` config group): each is a function registered with @LOSSES.register
that takes the group's keys and returns loss(logits, targets) -> the batch's mean loss."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ablate.registry import Fraction, Registry

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES = Registry("loss", "loss.name", "ablate/core/losses.py (with @LOSSES.register) and conf/loss/")


@LOSSES.register("ce")
def cross_entropy(label_smoothing: Fraction = 0.0) -> Loss:
    return lambda logits, y: F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)


@LOSSES.register("label_smoothing")
def label_smoothing(label_smoothing: Fraction = 0.1) -> Loss:
    """Cross-entropy against targets smoothed toward uniform (its own option, so a sweep can name it)."""
    return cross_entropy(label_smoothing)


def build_loss(group: dict) -> Loss:
    """The loss the `loss` group names, built from its other keys (checked against the function's parameters)."""
    params = {k: v for k, v in group.items() if k != "name"}
    return LOSSES.build(group.get("name", "ce"), **params)
