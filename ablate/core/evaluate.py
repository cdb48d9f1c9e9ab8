"""Predictions in batches and the test-split metrics of a run's record."""
from __future__ import annotations

from contextlib import nullcontext
from typing import Callable

import torch
import torch.nn.functional as F


def autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, prepare: Callable[[torch.Tensor], torch.Tensor],
            batch_size: int, precision: str, flip: bool = False) -> torch.Tensor:
    """Float32 logits for uint8 images x, in eval mode; flip=True mirrors the images first."""
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        if flip:
            xb = xb.flip(-1)
        with autocast(xb.device, precision):
            out.append(model(prepare(xb)).float())
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0)


def shifted(x: torch.Tensor, d: int) -> torch.Tensor:
    """x moved by d pixels down and right (d < 0: up and left), reflecting at the borders (any dtype)."""
    h, w = x.shape[-2:]

    def source(n: int) -> torch.Tensor:
        pos = (torch.arange(n, device=x.device) + d).abs()
        return torch.where(pos > n - 1, 2 * (n - 1) - pos, pos)

    return x.index_select(-2, source(h)).index_select(-1, source(w))


MULTICROP = ((0, 0.25), (-1, 0.125), (1, 0.125))   # (shift, weight of the view and of its mirror): 6 views


def multicrop_logits(logits: torch.Tensor, logits_flipped: torch.Tensor,
                     predict_view: Callable[[int, bool], torch.Tensor]) -> torch.Tensor:
    """airbench94's multi-crop test-time augmentation: the weighted mean of the logits of 6 views, the image and
    its mirror (0.25 each) and both moved one pixel up-left and down-right (0.125 each); predict_view(shift,
    flip) gives a view's logits (shift 0 unflipped and flipped are `logits` and `logits_flipped`)."""
    total = MULTICROP[0][1] * (logits.float() + logits_flipped.float())
    for shift, weight in MULTICROP[1:]:
        total = total + weight * (predict_view(shift, False).float() + predict_view(shift, True).float())
    return total


def reliability_bins(probs: torch.Tensor, y: torch.Tensor, bins: int = 15) -> dict:
    """Per equal-width confidence bin: image count, summed correctness and summed confidence."""
    conf, pred = probs.float().max(1)
    correct = (pred == y).float()
    idx = torch.clamp((conf * bins).long(), max=bins - 1)
    return {"count": torch.bincount(idx, minlength=bins).tolist(),
            "correct": torch.bincount(idx, weights=correct, minlength=bins).tolist(),
            "confidence": torch.bincount(idx, weights=conf, minlength=bins).tolist()}


def expected_calibration_error(probs: torch.Tensor, y: torch.Tensor, bins: int = 15) -> float:
    """ECE with equal-width confidence bins: sum over bins of |accuracy - confidence| x bin share."""
    r = reliability_bins(probs, y, bins)
    gap = sum(abs(a - c) for a, c in zip(r["correct"], r["confidence"]))
    return gap / max(len(y), 1)


def confusion_matrix(pred: torch.Tensor, y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts: rows are true classes, columns predicted classes."""
    return torch.bincount(y * num_classes + pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def split_metrics(logits: torch.Tensor, y: torch.Tensor, num_classes: int,
                 logits_flipped: torch.Tensor | None = None) -> dict:
    """Accuracy, flip-TTA accuracy, NLL, ECE, per-class accuracy and confusion matrix on one split. Computed on
    the CPU: a few thousand values, and bincount with weights is not deterministic on CUDA."""
    logits, y = logits.float().cpu(), y.cpu()
    logits_flipped = logits_flipped.float().cpu() if logits_flipped is not None else None
    probs = logits.softmax(1)
    pred = probs.argmax(1)
    cm = confusion_matrix(pred, y, num_classes).cpu()
    # a class without test images has no accuracy (NaN, null in the record), not an accuracy of 0
    per_class = torch.where(cm.sum(1) > 0, cm.diag().float() / cm.sum(1).clamp(min=1).float(), float("nan"))
    out = {
        "test_acc": float((pred == y).float().mean()),
        "test_nll": float(F.cross_entropy(logits, y)),
        "test_ece": expected_calibration_error(probs, y),
        "reliability": reliability_bins(probs, y),
        "per_class_acc": [float(v) for v in per_class],
        "confusion_matrix": cm.tolist(),
        "test_acc_tta": None,
    }
    if logits_flipped is not None:
        tta = (probs + logits_flipped.softmax(1)).argmax(1)
        out["test_acc_tta"] = float((tta == y).float().mean())
    return out
