"""One training run, top to bottom: data on the device as uint8, batches by a seeded permutation,
augmentation as tensor ops, metrics leave the device once per epoch."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ablate.core.evaluate import autocast, predict, split_metrics
from ablate.core.optim import build_optimizer, lr_factor
from ablate.core.settings import TrainSettings
from ablate.data.dataset import Splits
from ablate.errors import TrainingError

EpochCallback = Callable[[dict], None]


@dataclass
class TrainResult:
    history: list[dict]
    metrics: dict
    confusion_matrix: list[list[int]]
    timing: dict
    device: str


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"trainer.device={name} but no CUDA device is available: use trainer.device=cpu or auto")
    return device


def channel_stats(x: torch.Tensor, chunk: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of uint8 images in [0, 1] units, accumulated in float64 in chunks."""
    c = x.shape[1]
    s = torch.zeros(c, dtype=torch.float64, device=x.device)
    s2 = torch.zeros_like(s)
    for i in range(0, len(x), chunk):
        xb = x[i:i + chunk].to(torch.float64) / 255
        s += xb.sum((0, 2, 3))
        s2 += (xb * xb).sum((0, 2, 3))
    n = len(x) * x.shape[2] * x.shape[3]
    mean = s / n
    std = (s2 / n - mean * mean).clamp(min=1e-12).sqrt()
    return mean.float(), std.float()


class Timer:
    """Wall time of a region; on CUDA measured with events, synchronised only when read."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def start(self):
        if self.cuda:
            self._s = torch.cuda.Event(enable_timing=True)
            self._e = torch.cuda.Event(enable_timing=True)
            self._s.record()
        else:
            self._t = time.perf_counter()

    def stop(self) -> float:
        if self.cuda:
            self._e.record()
            self._e.synchronize()
            return self._s.elapsed_time(self._e) / 1000
        return time.perf_counter() - self._t


def train(model: torch.nn.Module, splits: Splits, s: TrainSettings,
          augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
          on_epoch: EpochCallback | None = None) -> TrainResult:
    device = resolve_device(s.device)
    # set both ways: the basic launcher runs every job of a sweep in this one process
    torch.use_deterministic_algorithms(s.deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = s.deterministic
    torch.backends.cudnn.benchmark = s.cudnn_benchmark and not s.deterministic
    data = splits.to(device)
    mean, std = channel_stats(data.train_x)
    scale = (1 / (255 * std))[None, :, None, None]           # (x / 255 - mean) / std = x * scale + shift
    shift = (-mean / std)[None, :, None, None]
    memory_format = torch.channels_last if s.channels_last else torch.contiguous_format

    def prepare(xb: torch.Tensor) -> torch.Tensor:
        return xb.float().mul_(scale).add_(shift).contiguous(memory_format=memory_format)

    model = model.to(device=device, memory_format=memory_format)
    step_model = torch.compile(model) if s.compile else model
    n = len(data.train_y)
    steps_per_epoch = max(n // s.batch_size, 1)   # drop the last partial batch (BatchNorm needs > 1 image)
    batch = min(s.batch_size, n)
    optimizer = build_optimizer(model.parameters(), s.optim, fused=s.fused_optimizer and device.type == "cuda")
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_factor(s.schedule, s.epochs * steps_per_epoch, steps_per_epoch))
    gen = torch.Generator(device=device).manual_seed(s.seed)
    timer = Timer(device)
    history: list[dict] = []

    for epoch in range(1, s.epochs + 1):
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        lr = optimizer.param_groups[0]["lr"]
        timer.start()
        perm = torch.randperm(n, device=device, generator=gen)
        for step in range(steps_per_epoch):
            idx = perm[step * batch:(step + 1) * batch]
            xb, yb = data.train_x.index_select(0, idx), data.train_y.index_select(0, idx)  # faster than x[idx] on CPU
            if augment:
                xb = augment(xb, gen)
            with autocast(device, s.precision):
                logits = step_model(prepare(xb))
                loss = F.cross_entropy(logits.float(), yb, label_smoothing=s.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.detach() * len(yb)
            correct += (logits.argmax(1) == yb).sum()
        seconds = timer.stop()
        seen = steps_per_epoch * batch
        row = {"epoch": epoch, "lr": lr, "train_loss": float(loss_sum) / seen,
               "train_acc": int(correct) / seen}
        if row["train_loss"] != row["train_loss"] or row["train_loss"] == float("inf"):
            raise TrainingError(f"the training loss became {row['train_loss']} in epoch {epoch}: "
                                f"lower optim.lr (now {s.optim.lr}) or add schedule.warmup_epochs")
        if len(data.val_y):
            logits = predict(model, data.val_x, prepare, s.eval_batch_size, s.precision)
            row["val_loss"] = float(F.cross_entropy(logits, data.val_y))
            row["val_acc"] = float((logits.argmax(1) == data.val_y).float().mean())
        else:
            row["val_loss"] = row["val_acc"] = float("nan")
        row["epoch_seconds"] = seconds
        row["images_per_second"] = seen / seconds if seconds > 0 else float("nan")
        history.append(row)
        if on_epoch:
            on_epoch(row)

    logits = predict(model, data.test_x, prepare, s.eval_batch_size, s.precision)
    flipped = predict(model, data.test_x, prepare, s.eval_batch_size, s.precision, flip=True) if s.tta else None
    metrics = split_metrics(logits, data.test_y, splits.num_classes, flipped)
    cm = metrics.pop("confusion_matrix")
    last = history[-1] if history else {}
    metrics.update(val_acc=last.get("val_acc"), val_loss=last.get("val_loss"),
                   train_acc=last.get("train_acc"), train_loss=last.get("train_loss"),
                   best_val_acc=max((r["val_acc"] for r in history), default=None))
    train_seconds = sum(r["epoch_seconds"] for r in history)
    steady = history[1:] or history
    timing = {
        "train_seconds": train_seconds,
        "first_epoch_seconds": history[0]["epoch_seconds"] if history else None,
        # the first epoch carries warm-up (and torch.compile) cost: report steady state apart
        "images_per_second": len(steady) * steps_per_epoch * batch
        / max(sum(r["epoch_seconds"] for r in steady), 1e-9),
    }
    return TrainResult(history, metrics, cm, timing, str(device))
