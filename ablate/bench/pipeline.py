"""`python -m ablate.bench`: ablate's training core against the standard torchvision pipeline, side by side.

Both sides get the same model, augmentation (random crop with 4-pixel reflect padding + flip), batch
size and number of images, in one process, after a warm-up. `--quick` times augmentation + batching
only (no model). The two sides take turns `--repeats` times (a shared machine drifts between minutes: one pair
is not a measurement); prints the median images/s of each and the median of the repeats' ratios, ending with
`speedup: X.XX`.
"""
from __future__ import annotations

import argparse
import statistics

import torch

from ablate.bench import standard
from ablate.bench.common import interleave, median_ratio, random_images, save, timed_epochs
from ablate.core import OptimSettings, TrainSettings, train
from ablate.core.device import resolve_device
from ablate.core.train import channel_stats
from ablate.data import make_splits
from ablate.data.augment import BatchAugment
from ablate.data.dataset import ImageData
from ablate.models import MODELS, build_model
from ablate.job.placement import available_cores
from ablate.record.provenance import environment

CROPFLIP = [{"op": "crop", "padding": 4, "mode": "reflect"}, {"op": "flip", "p": 0.5}]


def ablate_batches(x: torch.Tensor, batch_size: int, device: torch.device, epochs: int) -> float:
    """Images/s of ablate's data path alone: resident uint8 data, seeded permutation, batch augmentation,
    normalisation; the same work the core does before the model."""
    x = x.to(device)
    mean, std = channel_stats(x)
    scale, shift = (1 / (255 * std))[None, :, None, None], (-mean / std)[None, :, None, None]
    aug = BatchAugment(CROPFLIP)
    g = torch.Generator(device=device).manual_seed(0)
    sink = torch.zeros((), device=device)

    def epoch():
        nonlocal sink
        perm = torch.randperm(len(x), device=device, generator=g)
        for i in range(len(x) // batch_size):
            xb = aug(x.index_select(0, perm[i * batch_size:(i + 1) * batch_size]), g)
            xb = xb.float().mul_(scale).add_(shift)
            sink = sink + xb[0, 0, 0, 0]        # keep the work from being skipped

    return epochs * (len(x) // batch_size) * batch_size / timed_epochs(epoch, epochs, device)


def standard_batches(x, y, batch_size: int, device: torch.device, epochs: int, workers: int) -> float:
    dl = standard.loader(x, y, batch_size, workers, pin=device.type == "cuda")
    sink = torch.zeros((), device=device)

    def epoch():
        nonlocal sink
        for xb, yb in dl:
            xb = xb.to(device, non_blocking=True)
            sink = sink + xb[0, 0, 0, 0]

    # the warm-up epoch starts the workers
    return epochs * (len(x) // batch_size) * batch_size / timed_epochs(epoch, epochs, device)


def core_speed(model_name: str, x, y, batch_size: int, device: str, epochs: int, widths=None, **options) -> dict:
    """The training core on resident data: steady-state images/s (epochs after the first) and the first
    epoch's seconds (warm-up, and compile time when compiling). `widths` for the small CNNs."""
    data = ImageData(x, y, x[:batch_size], y[:batch_size], [str(i) for i in range(10)])
    torch.manual_seed(0)
    s = TrainSettings(epochs=epochs + 1, batch_size=batch_size, device=device, tta=False,
                      optim=OptimSettings(momentum=0.9), **options)
    model = build_model(model_name, 10, **({"widths": widths} if widths else {}))
    r = train(model, make_splits(data, 0, None, 0), s, BatchAugment(CROPFLIP))
    return {"images_per_second": r.timing["images_per_second"], "first_epoch_seconds": r.timing["first_epoch_seconds"]}


def standard_training(model_name, x, y, batch_size, device, epochs, workers, precision, channels_last,
                      compile_model=False):
    """The standard loop's images/s with the same model options as ablate's side (compiled when it is)."""
    torch.manual_seed(0)
    model = build_model(model_name, 10).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if compile_model:
        model = torch.compile(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    dl = standard.loader(x, y, batch_size, workers, pin=device.type == "cuda")
    bf16 = precision == "bf16"
    seen = (len(x) // batch_size) * batch_size
    return epochs * seen / timed_epochs(lambda: standard.train_epoch(model, dl, opt, device, channels_last, bf16),
                                        epochs, device)


def sides(args, x, y, device: torch.device) -> dict:
    """The two measurements, each returning {"images_per_second": ...} (and the core's first epoch)."""
    if args.quick:
        return {"ablate": lambda: {"images_per_second": ablate_batches(x, args.batch_size, device, args.epochs)},
                "standard": lambda: {"images_per_second": standard_batches(x, y, args.batch_size, device,
                                                                           args.epochs, args.workers)}}
    return {"ablate": lambda: core_speed(args.model, x, y, args.batch_size, str(device), args.epochs,
                                         precision=args.precision, channels_last=args.channels_last,
                                         compile=args.compile),
            "standard": lambda: {"images_per_second": standard_training(
                args.model, x, y, args.batch_size, device, args.epochs, args.workers, args.precision,
                args.channels_last, args.compile)}}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m ablate.bench", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", help="cpu | cuda | auto")
    p.add_argument("--model", default="small_cnn", choices=MODELS.names())
    p.add_argument("--quick", action="store_true", help="augmentation + batching only, no model")
    p.add_argument("--images", type=int, help="images per epoch (default: 50000 on cuda, 10000 quick cpu, "
                                              "2048 cpu with a model)")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs after one warm-up epoch")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--workers", type=int, default=min(8, available_cores()),
                   help="DataLoader workers for the standard pipeline (default: min(8, cores), as a user sets it)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--repeats", type=int, default=3, help="the two sides take turns this many times")
    p.add_argument("--out", help="write the result as JSON here")
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    n = args.images or (50000 if device.type == "cuda" else 10000 if args.quick else 2048)
    x, y = random_images(n)
    settings = {k: v for k, v in vars(args).items() if k != "out"} | {"images": n, "device": str(device)}
    runs = interleave(sides(args, x, y, device), args.repeats)
    speedup, speedups = median_ratio(runs["ablate"], runs["standard"])
    ours, theirs = (statistics.median(r["images_per_second"] for r in runs[side]) for side in ("ablate", "standard"))
    what = "augmentation + batching (no model)" if args.quick else f"training {args.model}"
    extra = {} if args.quick else {
        "ablate_first_epoch_seconds": statistics.median(r["first_epoch_seconds"] for r in runs["ablate"])}
    env = environment(str(device))
    result = {"what": what, "ablate_images_per_second": ours, "standard_images_per_second": theirs,
              "speedup": speedup, "speedups": speedups, "repeats": runs, "settings": settings, **extra, "env": env}
    print(f"device: {env['device_name']}, torch {env['torch']}, {what}, {n} images x {args.epochs} epochs, "
          f"batch {args.batch_size}, {args.repeats} repeats (medians; each repeat's ratio: "
          + " ".join(f"{v:.2f}" for v in speedups) + ")")
    print(f"ablate core:                        {ours:12,.0f} images/s")
    print(f"torchvision + DataLoader({args.workers} workers): {theirs:12,.0f} images/s")
    print(f"speedup: {speedup:.2f}")
    save(args.out, result)
    return result
