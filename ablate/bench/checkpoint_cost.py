"""`python -m ablate.bench.checkpoint_cost`: what the per-epoch checkpoint costs, against an epoch.

For each model: the checkpoint's size and the seconds one atomic save takes (temp file, fsync, rename,
previous kept), measured on a TrainState after real optimizer steps (momentum buffers filled); and the
seconds of one 45,000-image epoch, from the training core's measured steady-state images/s on this device.
Ends with the checkpoint's share of an epoch at the default interval (one per epoch).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from ablate.bench.common import random_images, save
from ablate.bench.pipeline import core_speed
from ablate.core import OptimSettings, TrainSettings, setup, train_epoch
from ablate.job.checkpoint import save_checkpoint
from ablate.core.device import resolve_device
from ablate.data import make_splits
from ablate.data.dataset import ImageData
from ablate.models import build_model
from ablate.record.provenance import environment


def save_seconds(model_name: str, device: str, repeats: int) -> tuple[float, int]:
    """Median seconds of one checkpoint save, and its size in bytes."""
    x, y = random_images(256)
    splits = make_splits(ImageData(x, y, x[:8], y[:8], [str(i) for i in range(10)]), 0, None, 0)
    s = TrainSettings(epochs=1, batch_size=128, device=device, optim=OptimSettings(momentum=0.9))
    run = setup(build_model(model_name, 10), splits, s)
    run.state.end_epoch(train_epoch(run))            # two real steps: momentum buffers exist
    times = []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(repeats):
            start = time.perf_counter()
            path = save_checkpoint(d, {"state": run.state.state_dict(), "identity": {}, "identity_hash": ""})
            times.append(time.perf_counter() - start)
        return statistics.median(times), path.stat().st_size


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m ablate.bench.checkpoint_cost", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--models", nargs="+", default=["small_cnn", "resnet18"])
    p.add_argument("--epoch-images", type=int, default=45000)
    p.add_argument("--timed-images", type=int, default=1024, help="images per timed epoch of the speed measure")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out")
    args = p.parse_args(argv)
    device = str(resolve_device(args.device))
    x, y = random_images(args.timed_images)
    rows = {}
    for name in args.models:
        seconds, size = save_seconds(name, device, args.repeats)
        ips = core_speed(name, x, y, 128, device, 1, channels_last=True)["images_per_second"]
        epoch = args.epoch_images / ips
        rows[name] = {"checkpoint_bytes": size, "checkpoint_seconds": seconds, "images_per_second": ips,
                      "epoch_seconds": epoch, "share_of_epoch": seconds / epoch}
    env = environment(device)
    print(f"device: {env['device_name']}, torch {env['torch']}, epoch = {args.epoch_images:,} images, batch 128")
    print(f"{'model':10s} {'checkpoint MB':>14s} {'save s':>8s} {'epoch s':>9s} {'share':>8s}")
    for name, r in rows.items():
        print(f"{name:10s} {r['checkpoint_bytes'] / 1e6:14.1f} {r['checkpoint_seconds']:8.3f} "
              f"{r['epoch_seconds']:9.1f} {r['share_of_epoch']:8.3%}")
    result = {"models": rows, "settings": vars(args) | {"device": device}, "env": env}
    save(args.out, result)
    return result


if __name__ == "__main__":
    main()
