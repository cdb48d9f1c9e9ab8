"""`python -m ablate.bench.options`: the trainer's speed options measured one at a time, in one process.

Each variant trains the same model on the same resident data with the core; the table gives steady-state
images/s (epochs after the first), the first epoch's seconds (warm-up, and compile time when compiling)
and the ratio to the fp32 baseline. The variants take turns `--repeats` times (a shared machine drifts between
minutes); the table gives medians, and the ratio is the median of each repeat's ratio to that repeat's baseline.
"""
from __future__ import annotations

import argparse
import statistics

from ablate.bench.common import interleave, median_ratio, random_images, save
from ablate.bench.pipeline import core_speed
from ablate.core.device import resolve_device
from ablate.models import MODELS
from ablate.record.provenance import environment

BASE = {"precision": "fp32", "channels_last": False, "compile": False, "cudnn_benchmark": True,
        "fused_optimizer": True}
VARIANTS = {name: BASE | change for name, change in {
    "fp32 (baseline)": {},
    "bf16": {"precision": "bf16"},
    "channels_last": {"channels_last": True},
    "bf16 + channels_last": {"precision": "bf16", "channels_last": True},
    "channels_last + compile": {"channels_last": True, "compile": True},
    "bf16 + channels_last + compile": {"precision": "bf16", "channels_last": True, "compile": True},
    "no cudnn.benchmark": {"cudnn_benchmark": False},
    "no fused optimizer": {"fused_optimizer": False},
}.items()}
CUDA_ONLY = ("no cudnn.benchmark", "no fused optimizer")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m ablate.bench.options", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--model", default="small_cnn", choices=MODELS.names())
    p.add_argument("--images", type=int, default=None, help="default 50000 on cuda, 1024 on cpu")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs after the first")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--widths", type=int, nargs="+", help="small_cnn widths (default: the model's own)")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), help="default: all (CUDA-only ones on CUDA)")
    p.add_argument("--repeats", type=int, default=3, help="the variants take turns this many times")
    p.add_argument("--out")
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    n = args.images or (50000 if device.type == "cuda" else 1024)
    variants = args.variants or [v for v in VARIANTS if device.type == "cuda" or v not in CUDA_ONLY]
    x, y = random_images(n)
    env = environment(str(device))

    def measure(name):
        return lambda: core_speed(args.model, x, y, args.batch_size, str(device), args.epochs, widths=args.widths,
                                  **VARIANTS[name])

    runs = interleave({name: measure(name) for name in variants}, args.repeats,     # a time limit keeps the rest
                      after=lambda so_far: save(args.out, {"runs": so_far, "partial": True, "env": env}))
    base = runs.get("fp32 (baseline)", next(iter(runs.values())))
    rows = {}
    for name, rs in runs.items():
        ratio, ratios = median_ratio(rs, base)
        rows[name] = {"images_per_second": statistics.median(r["images_per_second"] for r in rs),
                      "first_epoch_seconds": statistics.median(r["first_epoch_seconds"] for r in rs),
                      "ratio_to_baseline": ratio, "ratios": ratios, "repeats": rs}
    print(f"device: {env['device_name']}, torch {env['torch']}, {args.model}, {n} images, batch {args.batch_size}, "
          f"{args.repeats} repeats (medians)")
    print(f"{'variant':34s} {'images/s':>12s} {'first epoch s':>14s} {'vs fp32':>8s}  each repeat's ratio")
    for name, r in rows.items():
        print(f"{name:34s} {r['images_per_second']:12,.0f} {r['first_epoch_seconds']:14.2f} "
              f"{r['ratio_to_baseline']:8.2f}  " + " ".join(f"{v:.2f}" for v in r["ratios"]))
    result = {"variants": rows, "settings": vars(args) | {"images": n, "device": str(device)}, "env": env}
    save(args.out, result)
    return result


if __name__ == "__main__":
    main()
