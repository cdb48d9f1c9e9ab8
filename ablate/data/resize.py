"""data.image_size for any dataset: uint8 images resized once at load when the result fits a memory budget
(e.g. CIFAR 32 -> 64), else left as they are and resized per batch by the training core (32 -> 224)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ablate.data.dataset import ImageData

RESIZE_ONCE_BUDGET = 4 * 2 ** 30   # bytes of resized uint8 images (train + test) to hold at once, by default
# (a run passes its device's budget: ablate.core.device.resident_budget)


def resize_images(x: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, C, size, size); bilinear, antialiased when shrinking."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    out = torch.empty((len(x), x.shape[1], size, size), dtype=torch.uint8, device=x.device)
    for i in range(0, len(x), chunk):
        y = F.interpolate(x[i:i + chunk].float(), size=(size, size), mode="bilinear", align_corners=False,
                          antialias=size < x.shape[-1])
        out[i:i + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


def fit_image_size(data: ImageData, size: int | None, budget: int = RESIZE_ONCE_BUDGET) -> tuple[ImageData, int | None]:
    """The data at `size` when it fits the budget (and None), else the data as it is and the size for the
    core to resize each batch to."""
    if size is None or (data.train_x.shape[-1] == size and data.train_x.shape[-2] == size):
        return data, None
    c = data.train_x.shape[1]
    if (len(data.train_x) + len(data.test_x)) * c * size * size > budget:
        return data, size
    return ImageData(resize_images(data.train_x, size), data.train_y, resize_images(data.test_x, size),
                     data.test_y, data.class_names), None
