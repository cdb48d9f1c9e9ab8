"""The standard recipe users know, as the reference point: torchvision transforms on PIL images, a
DataLoader with worker processes and pinned memory, a plain training loop."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms


class PilImages(Dataset):
    """Images kept as HWC uint8 numpy, turned into PIL per item, as torchvision.datasets.CIFAR10 does."""

    def __init__(self, x_nhwc: np.ndarray, y: np.ndarray, transform):
        self.x, self.y, self.transform = x_nhwc, y, transform

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.x[i])), int(self.y[i])


def cropflip_transform(mean, std):
    return transforms.Compose([
        transforms.RandomCrop(32, padding=4, padding_mode="reflect"),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ])


def loader(x_nchw: torch.Tensor, y: torch.Tensor, batch_size: int, workers: int, pin: bool) -> DataLoader:
    mean = (x_nchw.float().mean((0, 2, 3)) / 255).tolist()
    std = (x_nchw.float().std((0, 2, 3)) / 255).tolist()
    ds = PilImages(x_nchw.permute(0, 2, 3, 1).contiguous().numpy(), y.numpy(), cropflip_transform(mean, std))
    return DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers, pin_memory=pin,
                      drop_last=True, persistent_workers=workers > 0)


def train_epoch(model, dl: DataLoader, optimizer, device: torch.device, channels_last: bool = False,
                bf16: bool = False) -> int:
    """One epoch of the plain loop; returns the number of images seen."""
    model.train()
    seen = 0
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for xb, yb in dl:
        xb = xb.to(device, non_blocking=True).contiguous(memory_format=fmt)
        yb = yb.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(xb).float(), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(yb)
    return seen
