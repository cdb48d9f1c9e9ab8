"""Shared pieces of the benchmarks: inputs, timing, and writing a result with its provenance."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import torch


def random_images(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-shaped uint8 images and labels: a pipeline's speed does not depend on their content."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
            torch.randint(0, 10, (n,), generator=g))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_epochs(epoch: Callable[[], None], epochs: int, device: torch.device) -> float:
    """Seconds for `epochs` calls of `epoch` after one warm-up call, synchronised at both ends."""
    epoch()
    sync(device)
    t = time.perf_counter()
    for _ in range(epochs):
        epoch()
    sync(device)
    return time.perf_counter() - t


def save(path: str | None, result: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=1) + "\n")
