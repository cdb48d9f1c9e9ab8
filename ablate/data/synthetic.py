"""Generated CIFAR-shaped data with a learnable signal: each class is a smooth colour template plus noise."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ablate.data.dataset import ImageData


def load_synthetic(num_train: int = 2000, num_test: int = 500, num_classes: int = 10, image_size: int = 32,
                   noise: float = 1.5, seed: int = 1234) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    # one low-frequency colour pattern per class, upsampled to the image size
    coarse = torch.rand(num_classes, 3, 4, 4, generator=g)
    templates = F.interpolate(coarse, size=(image_size, image_size), mode="bilinear", align_corners=False)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % num_classes
        y = y[torch.randperm(n, generator=g)]
        x = templates[y] + noise * torch.randn(n, 3, image_size, image_size, generator=g) * 0.5
        return (x.clamp(0, 1) * 255).round().to(torch.uint8), y

    train_x, train_y = draw(num_train)
    test_x, test_y = draw(num_test)
    return ImageData(train_x, train_y, test_x, test_y, [f"class_{i}" for i in range(num_classes)])
