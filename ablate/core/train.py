"""One training run: setup, then train_epoch + evaluate per epoch, then finish. Data stays on the device as
uint8, batches come from a seeded permutation, augmentation is tensor ops, metrics leave the device once
per epoch. All that changes while training is in run.state (a TrainState), so a run can stop and resume."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from typing import Callable

import torch
import torch.nn.functional as F

from ablate.core.device import fused_step_available, resolve_device, resolve_precision, set_backends
from ablate.core.evaluate import autocast, multicrop_logits, predict, shifted, split_metrics
from ablate.core.losses import Loss, build_loss
from ablate.core.optim import build_optimizer, fill_momentum_buffers, lr_factor, param_groups
from ablate.core.pauses import PAUSES
from ablate.core.settings import TrainSettings
from ablate.core.state import TrainState
from ablate.core.timing import Timer
from ablate.core.lookahead import Lookahead
from ablate.data.augment import At
from ablate.data.dataset import Splits
from ablate.errors import ConfigError, TrainingError

Augment = Callable[[torch.Tensor, torch.Generator, At], torch.Tensor]    # (batch, generator, where it stands)
# label mixing (MixUp, CutMix): (normalised batch, labels, generator) -> (batch, second labels, weight of the first)
Mix = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor, float]]
EpochCallback = Callable[[dict, TrainState], None]   # after each epoch: its history row, the state


@dataclass
class TrainResult:
    history: list[dict]
    metrics: dict
    confusion_matrix: list[list[int]]
    timing: dict
    device: str
    precision: str          # the one used: trainer.precision=auto resolved on this device
    optimizer_fused: bool = False     # the optimizer step ran as one fused kernel (trainer.fused_optimizer)
    notes: list[str] = field(default_factory=list)   # what the record should say about how the run went
    predictions: dict | None = None   # per test image: predicted class and its softmax confidence (CPU tensors)


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


def train_mode(model: torch.nn.Module) -> None:
    """Training mode, except for frozen BatchNorm layers (no parameter trains: model.freeze): their running
    statistics stay as loaded. A BatchNorm whose weight alone is fixed (airbench's) trains as usual."""
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.affine and \
                not any(p.requires_grad for p in m.parameters()):
            m.eval()


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def normalization(x: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel mean and std (in [0, 1] units) to normalise with: the training images' own, or ImageNet's."""
    if kind == "dataset":
        return channel_stats(x)
    if kind == "imagenet":
        if x.shape[1] != 3:
            raise ConfigError(f"data.normalize=imagenet needs 3-channel images, these have {x.shape[1]}: "
                              f"set data.normalize=dataset")
        return (torch.tensor(IMAGENET_MEAN, device=x.device), torch.tensor(IMAGENET_STD, device=x.device))
    raise ConfigError(f"data.normalize={kind!r} is unknown: use dataset or imagenet")


@dataclass
class Run:
    """What setup() fixes for a whole run (device, resident data, batching) plus its TrainState."""
    settings: TrainSettings
    device: torch.device
    data: Splits
    num_classes: int
    prepare: Callable[[torch.Tensor], torch.Tensor]     # uint8 batch -> normalised float batch
    step_model: torch.nn.Module                          # the model, compiled when asked
    augment: Augment | None
    mix: Mix | None
    steps_per_epoch: int
    batch: int
    timer: Timer
    state: TrainState
    eval_batch: int                                      # trainer.eval_batch_size scaled to the image size
    criterion: Loss                                      # the training loss (trainer's loss group)


DIVERGED = 10   # a mean training loss this many times that of guessing uniformly (ln C) means divergence


def check_divergence(row: dict, num_classes: int, lr: float) -> None:
    """A run whose training loss is NaN or inf, or above DIVERGED x ln(num_classes) (ten times worse than a
    model that guesses uniformly), has diverged: a failed experiment, not a result to average."""
    loss, chance = row["train_loss"], math.log(max(num_classes, 2))
    if not math.isfinite(loss) or loss > DIVERGED * chance:
        what = f"became {loss}" if not math.isfinite(loss) else \
            f"is {loss:,.4g}, over {DIVERGED}x that of guessing uniformly ({chance:.2f})"
        raise TrainingError(f"diverged: the training loss {what} in epoch {row['epoch']}: lower optim.lr "
                            f"(now {lr}) or add schedule.warmup_epochs")


def is_out_of_memory(e: BaseException) -> bool:
    text = str(e).lower()
    return isinstance(e, torch.cuda.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text


def place_data(splits: Splits, device: torch.device) -> Splits:
    """The splits resident on the device, refused with the keys to change when they would not fit."""
    if device.type == "cuda":
        need = sum(t.numel() * t.element_size() for t in (splits.train_x, splits.val_x, splits.test_x))
        free, _ = torch.cuda.mem_get_info(device)
        if need > 0.8 * free:
            side = splits.train_x.shape[-1]
            raise TrainingError(f"the dataset takes {need / 2**30:.1f} GiB on {device} as uint8 at {side}x{side}, "
                                f"more than the {0.8 * free / 2**30:.1f} GiB it can hold (80% of its free memory): "
                                f"lower data.image_size or data.train_subset, or free the GPU")
    return splits.to(device)


def eval_batch(s: TrainSettings, side: int) -> int:
    """trainer.eval_batch_size scaled down by image area beyond 32x32 (activations grow with it), never below
    the training batch (which fit with gradients)."""
    scaled = s.eval_batch_size * 32 * 32 // max(side * side, 1)
    return max(1, min(s.eval_batch_size, max(scaled, s.batch_size)))


def total_steps(s: TrainSettings, steps_per_epoch: int) -> int:
    """The run's optimizer steps: epochs x steps per epoch, rounded up (trainer.epochs=9.9 ends inside the
    tenth epoch)."""
    return math.ceil(round(s.epochs * steps_per_epoch, 6))


def build_optimization(model: torch.nn.Module, s: TrainSettings, device: torch.device, steps_per_epoch: int):
    """(optimizer, per-step lr scheduler); a two-phase run's optimizer holds the
    frozen parameters too, and its lr drops by unfreeze_lr_factor once they train."""
    two_phase = s.unfreeze_at is not None
    fused = s.fused_optimizer and fused_step_available(device)
    optimizer = build_optimizer(param_groups(model, s.optim), s.optim, fused=fused, include_frozen=two_phase)
    factor = lr_factor(s.schedule, total_steps(s, steps_per_epoch), steps_per_epoch)
    if two_phase:
        unfreeze_step, lower = s.unfreeze_at * steps_per_epoch, s.unfreeze_lr_factor
        phase_factor = factor
        factor = lambda step: phase_factor(step) * (lower if step >= unfreeze_step else 1.0)  # noqa: E731
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def setup(model: torch.nn.Module, splits: Splits, s: TrainSettings, augment: Augment | None = None,
          mix: Mix | None = None) -> Run:
    device = resolve_device(s.device)     # a job passes both resolved; a caller by hand may pass auto
    s = replace(s, precision=resolve_precision(s.precision, device))
    set_backends(device, s.deterministic, s.cudnn_benchmark)
    mean, std = (t.to(device) for t in normalization(splits.train_x, s.normalize))   # float64 sums on the CPU
    data = place_data(splits, device)
    scale = (1 / (255 * std))[None, :, None, None]           # (x / 255 - mean) / std = x * scale + shift
    shift = (-mean / std)[None, :, None, None]
    memory_format = torch.channels_last if s.channels_last else torch.contiguous_format
    size = s.image_size

    def prepare(xb: torch.Tensor) -> torch.Tensor:
        x = xb.float().mul_(scale).add_(shift)
        if size and x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        return x.contiguous(memory_format=memory_format)

    model = model.to(device=device, memory_format=memory_format)
    n = len(data.train_y)
    steps_per_epoch = max(n // s.batch_size, 1)   # drop the last partial batch (BatchNorm needs > 1 image)
    optimizer, scheduler = build_optimization(model, s, device, steps_per_epoch)
    state = TrainState(model, optimizer, scheduler, torch.Generator(device=device).manual_seed(s.seed), seed=s.seed)
    if s.lookahead:
        state.lookahead = Lookahead(model, total_steps(s, steps_per_epoch), s.lookahead_every, s.lookahead_decay,
                                    s.lookahead_power)
    if s.compile:
        torch._dynamo.reset()     # a sweep's jobs share this process: no graphs or guards from the last job
    return Run(s, device, data, splits.num_classes, prepare, torch.compile(model) if s.compile else model,
               augment, mix or None, steps_per_epoch, min(s.batch_size, n), Timer(device), state,
               eval_batch(s, size or data.train_x.shape[-1]), build_loss(s.loss))


INIT_IMAGES = 10_000     # at most this many training images are shown to a model's init_from_data


def init_from_data(run: Run) -> None:
    """A model's initialisation from the data, where it has one (airbench's whitening stem): given the first
    training images, normalised, before the first step. A resumed run has it in its checkpoint."""
    model = run.state.model
    if not hasattr(model, "init_from_data"):
        return
    with torch.no_grad():
        model.init_from_data(run.prepare(run.data.train_x[:INIT_IMAGES]))
    if run.state.lookahead is not None:
        run.state.lookahead.reset()


def train_epoch(run: Run) -> dict:
    """One pass over a fresh permutation of the training split. Metrics leave the device once, at the end."""
    st, s, data = run.state, run.settings, run.data
    if s.unfreeze_at is not None and st.epoch >= s.unfreeze_at:    # phase 2 (also after a resume)
        for p in st.model.parameters():
            p.requires_grad_(True)
        fill_momentum_buffers(st.optimizer)     # a fused step needs a buffer for every parameter it updates
    if hasattr(st.model, "start_epoch"):         # a model's own schedule (airbench: its stem's bias stops training)
        st.model.start_epoch(st.epoch)
    train_mode(st.model)
    loss_sum = torch.zeros((), device=run.device)
    correct = torch.zeros((), device=run.device)
    lr = st.optimizer.param_groups[0]["lr"]
    steps = min(run.steps_per_epoch, total_steps(s, run.steps_per_epoch) - st.epoch * run.steps_per_epoch)
    run.timer.start()
    perm = torch.randperm(len(data.train_y), device=run.device, generator=st.generator)
    for step in range(steps):
        idx = perm[step * run.batch:(step + 1) * run.batch]
        xb, yb = data.train_x.index_select(0, idx), data.train_y.index_select(0, idx)  # faster than x[idx] on CPU
        if run.augment:
            xb = run.augment(xb, st.generator, At(idx, st.epoch, s.seed, len(data.train_y)))
        xb = run.prepare(xb)
        yb2, lam = yb, 1.0
        if run.mix:
            xb, yb2, lam = run.mix(xb, yb, st.generator)
        with autocast(run.device, s.precision):
            logits = run.step_model(xb)
            loss = run.criterion(logits, yb)
            if lam < 1:
                loss = lam * loss + (1 - lam) * run.criterion(logits, yb2)
        st.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        st.optimizer.step()
        st.scheduler.step()
        if st.lookahead is not None:
            st.lookahead.after_step(st.epoch * run.steps_per_epoch + step + 1)
        PAUSES.mark()
        loss_sum += loss.detach() * len(yb)
        pred = logits.argmax(1)
        correct += (pred == yb).sum() if lam == 1 else lam * (pred == yb).sum() + (1 - lam) * (pred == yb2).sum()
    seconds = run.timer.stop()
    seen = steps * run.batch
    row = {"epoch": st.epoch + 1, "lr": lr, "train_loss": float(loss_sum) / seen, "train_acc": float(correct) / seen}
    check_divergence(row, run.num_classes, s.optim.lr)
    row["epoch_seconds"] = seconds                   # running time: a stop (SIGSTOP ... SIGCONT) is left out
    row["stopped_seconds"] = run.timer.stopped
    row["images_per_second"] = seen / seconds if seconds > 0 else float("nan")
    return row


def run_predict(run: Run, x: torch.Tensor, flip: bool = False) -> torch.Tensor:
    """The model's logits for x in evaluation batches; out of memory there names the evaluation batch."""
    try:
        return predict(run.state.model, x, run.prepare, run.eval_batch, run.settings.precision, flip=flip)
    except (RuntimeError, MemoryError) as e:
        if not is_out_of_memory(e):
            raise
        raise TrainingError(f"out of memory while evaluating at {run.eval_batch} images a batch "
                            f"(trainer.eval_batch_size={run.settings.eval_batch_size}, scaled to the image size): "
                            f"lower trainer.eval_batch_size") from e


def evaluate(run: Run) -> dict:
    """Loss and accuracy on the validation split (NaN when there is none)."""
    data = run.data
    if not len(data.val_y):
        return {"val_loss": float("nan"), "val_acc": float("nan")}
    logits = run_predict(run, data.val_x)
    return {"val_loss": float(F.cross_entropy(logits, data.val_y)),
            "val_acc": float((logits.argmax(1) == data.val_y).float().mean())}


def finish(run: Run) -> TrainResult:
    """The test split's metrics (with flip TTA when asked), the last epoch's train/val figures and timing."""
    s, st, data = run.settings, run.state, run.data
    logits = run_predict(run, data.test_x)
    flipped = run_predict(run, data.test_x, flip=True) if s.tta else None
    metrics = split_metrics(logits, data.test_y, run.num_classes, flipped)
    if s.tta == "multicrop":
        views = multicrop_logits(logits, flipped, lambda d, flip: run_predict(run, shifted(data.test_x, d), flip=flip))
        metrics["test_acc_tta_multicrop"] = float((views.argmax(1).cpu() == data.test_y.cpu()).float().mean())
    confidence, predicted = logits.softmax(1).max(1)
    predictions = {"predicted": predicted.cpu(), "confidence": confidence.cpu(), "label": data.test_y.cpu()}
    cm = metrics.pop("confusion_matrix")
    last = st.history[-1] if st.history else {}
    metrics.update(val_acc=last.get("val_acc"), val_loss=last.get("val_loss"),
                   train_acc=last.get("train_acc"), train_loss=last.get("train_loss"),
                   best_val_acc=st.best_val_acc)
    steady = st.history[1:] or st.history
    timing = {
        "train_seconds": sum(r["epoch_seconds"] for r in st.history),          # running time, stops left out
        "stopped_seconds": sum(r.get("stopped_seconds", 0.0) for r in st.history),
        "first_epoch_seconds": st.history[0]["epoch_seconds"] if st.history else None,
        # robust to an epoch stretched by a shared machine (train_seconds is not)
        "median_epoch_seconds": statistics.median(r["epoch_seconds"] for r in st.history) if st.history else None,
        # the first epoch carries warm-up (and torch.compile) cost: report steady state apart
        "images_per_second": sum(r["epoch_seconds"] * r["images_per_second"] for r in steady)
        / max(sum(r["epoch_seconds"] for r in steady), 1e-9),
    }
    return TrainResult(st.history, metrics, cm, timing, str(run.device), s.precision,
                       optimizer_fused=bool(st.optimizer.param_groups[0].get("fused")), notes=list(st.notes), predictions=predictions)


def train(model: torch.nn.Module, splits: Splits, s: TrainSettings, augment: Augment | None = None,
          on_epoch: EpochCallback | None = None, resume: dict | None = None, mix: Mix | None = None) -> TrainResult:
    """Train for s.epochs (continuing from a TrainState.state_dict() when given one) and evaluate on test."""
    run = setup(model, splits, s, augment, mix)
    if resume is not None:
        run.state.load_state_dict(resume)
    else:
        init_from_data(run)
    while run.state.epoch < s.epochs:
        row = train_epoch(run)
        row.update(evaluate(run))
        run.state.end_epoch(row)
        if on_epoch:
            on_epoch(row, run.state)
    return finish(run)
