"""Shared pieces of the benchmarks: inputs, timing, and writing a result with its provenance."""
from __future__ import annotations

import json
import statistics
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


def interleave(sides: dict[str, Callable[[], dict]], repeats: int,
               after: Callable[[dict[str, list[dict]]], None] | None = None) -> dict[str, list[dict]]:
    """Each side's measurement `repeats` times, the sides taking turns (a, b, c, a, b, c, ...): a shared machine
    whose speed drifts between minutes moves every side alike, so each repeat's ratios stay comparable where
    one pair of numbers would not. `after(runs so far)` after each measurement (to save partial results)."""
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, measure in sides.items():
            runs[name].append(measure())
            if after:
                after(runs)
    return runs


def median_ratio(runs: list[dict], base: list[dict], key: str = "images_per_second") -> tuple[float, list[float]]:
    """The median over repeats of each repeat's ratio runs[i][key] / base[i][key], and those ratios."""
    ratios = [r[key] / b[key] for r, b in zip(runs, base)]
    return statistics.median(ratios), ratios
