"""`python -m ablate.bench.airbench`: airbench94's recipe through ablate's core against a bare loop over the same
network, side by side in one process: what the harness costs on top of the model's own kernels.

* harness: `train()` with the experiment's settings (batch 1024, SGD Nesterov with BatchNorm biases at 64x the
  lr, label smoothing 0.2, the piecewise lr, lookahead, the 2-pixel translation + alternating flip on the
  resident uint8 data, normalisation per batch), as `experiment=airbench94` runs it;
* bare: the same network from the same factory, the same optimizer groups and loss, on data normalised once in
  advance, no augmentation, no lookahead, no schedule, no bookkeeping: the floor any script of this network
  pays for its forward, backward and step on this machine.

The recipe's values come from `experiment=airbench94` itself (composed from conf/). Both sides after one warm-up
epoch, for each memory format asked (`--formats`), interleaved `--repeats` times (a shared 2-core VM drifts by
10-20% between minutes: one pair is not a measurement); prints the median images/s of each side and the median of
the repeats' harness / bare ratios. Random images: the speed does not depend on their content.
"""
from __future__ import annotations

import argparse
import copy
import functools
import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from ablate.__main__ import CONFIG_DIR
from ablate.bench.common import median_ratio, random_images, save
from ablate.core import TrainSettings, train
from ablate.core.device import resolve_device
from ablate.core.optim import param_groups
from ablate.core.train import channel_stats
from ablate.data import make_splits
from ablate.data.augment import BatchAugment
from ablate.data.dataset import ImageData
from ablate.job.spec import settings_from_config
from ablate.models import build_model
from ablate.record.provenance import environment


@functools.lru_cache(maxsize=1)
def _recipe_config() -> dict:
    """experiment=airbench94 composed from conf/ as a job composes it: once a process."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return OmegaConf.to_container(compose("config", overrides=["experiment=airbench94"]), resolve=True)


def recipe(**trainer) -> tuple[TrainSettings, list[dict], dict]:
    """experiment=airbench94's training settings, augmentation ops and model keys (one source for the recipe's
    values), with `trainer` keys replaced."""
    cfg = copy.deepcopy(_recipe_config())
    return replace(settings_from_config(cfg), tta=False, **trainer), cfg["aug"]["ops"], cfg["model"]


def harness_speed(x, y, epochs: int, batch: int, device: str, channels_last: bool, precision: str,
                  compile_model: bool = False) -> dict:
    """The core with airbench94's settings: steady-state images/s (epochs after the first)."""
    data = ImageData(x, y, x[:batch], y[:batch], [str(i) for i in range(10)])
    torch.manual_seed(0)
    s, ops, net = recipe(epochs=epochs + 1, batch_size=batch, device=device, channels_last=channels_last,
                         precision=precision, compile=compile_model)
    model = build_model(num_classes=10, **net)
    r = train(model, make_splits(data, 0, None, 0), s, BatchAugment(ops))
    return {"images_per_second": r.timing["images_per_second"],
            "first_epoch_seconds": r.timing["first_epoch_seconds"]}


def bare_speed(x, y, epochs: int, batch: int, device: torch.device, channels_last: bool, precision: str) -> dict:
    """The same network, optimizer groups and loss in a plain loop over pre-normalised, unaugmented data."""
    torch.manual_seed(0)
    mean, std = channel_stats(x)
    xf = ((x.float() / 255 - mean[None, :, None, None]) / std[None, :, None, None]).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    xf, y = xf.contiguous(memory_format=fmt), y.to(device)
    s, _, net = recipe()
    model = build_model(num_classes=10, **net).to(device).to(memory_format=fmt)
    model.init_from_data(xf[:5000])
    opt = torch.optim.SGD(param_groups(model, s.optim), lr=s.optim.lr, momentum=s.optim.momentum,
                          nesterov=s.optim.nesterov, weight_decay=s.optim.weight_decay)   # torch's default step
    smoothing = s.loss["label_smoothing"]
    steps = len(xf) // batch
    bf16 = precision == "bf16"

    def epoch():
        model.train()
        perm = torch.randperm(len(xf), device=device)
        for i in range(steps):
            idx = perm[i * batch:(i + 1) * batch]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(xf.index_select(0, idx)).float(), y.index_select(0, idx),
                                       label_smoothing=smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    t0 = time.perf_counter()
    epoch()                                    # warm-up
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return {"images_per_second": epochs * steps * batch / (time.perf_counter() - t0), "first_epoch_seconds": first}


def summary(name: str, runs_of_side: list[dict], runs: dict[str, list[dict]]) -> dict:
    """Medians over the repeats, and the ratio to the bare loop of the same layout: the median of each repeat's
    ratio where both sides ran in it, else of the medians."""
    bare = runs.get("bare, " + name.split(", ")[1], [])
    speeds = [r["images_per_second"] for r in runs_of_side]
    if bare and len(bare) == len(runs_of_side):
        ratio, ratios = median_ratio(runs_of_side, bare)
    elif bare:                   # the compile row runs once, after the repeats
        ratios = [statistics.median(speeds) / statistics.median(r["images_per_second"] for r in bare)]
        ratio = ratios[0]
    else:
        ratio, ratios = None, []
    return {"images_per_second": statistics.median(speeds),
            "first_epoch_seconds": statistics.median(r["first_epoch_seconds"] for r in runs_of_side),
            "ratio_to_bare": ratio, "ratios": ratios, "repeats": runs_of_side}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m ablate.bench.airbench", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--images", type=int, default=None, help="images an epoch (default 50000 on cuda, 4096 on cpu)")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs after the warm-up one")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--formats", nargs="+", choices=("channels_last", "nchw"), default=["channels_last", "nchw"])
    p.add_argument("--repeats", type=int, default=3, help="harness and bare, interleaved, this many times each")
    p.add_argument("--compile", action="store_true", help="also the harness with trainer.compile=true (once, last)")
    p.add_argument("--out")
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    n = args.images or (50000 if device.type == "cuda" else 4096)
    x, y = random_images(n)
    env = environment(str(device))
    runs: dict[str, list[dict]] = {}
    order = [(f"{side}, {fmt}", side, fmt == "channels_last") for fmt in args.formats for side in ("harness", "bare")]
    for _ in range(args.repeats):     # interleaved: a machine whose speed drifts moves both sides alike
        for name, side, cl in order:
            runs.setdefault(name, []).append(
                bare_speed(x, y, args.epochs, args.batch_size, device, cl, args.precision) if side == "bare" else
                harness_speed(x, y, args.epochs, args.batch_size, str(device), cl, args.precision))
            save(args.out, {"runs": runs, "partial": True, "env": env})
    if args.compile:          # last: torch.compile leaves worker processes that would share the CPU with the rest
        for fmt in args.formats:
            runs[f"harness + compile, {fmt}"] = [harness_speed(x, y, args.epochs, args.batch_size, str(device),
                                                               fmt == "channels_last", args.precision, True)]
    rows = {name: summary(name, rs, runs) for name, rs in runs.items()}
    print(f"device: {env['device_name']} ({env.get('cpu', {}).get('model', '')}), torch {env['torch']}, airbench, "
          f"{n} images an epoch, batch {args.batch_size}, {args.precision}, {args.epochs} timed epochs, "
          f"{args.repeats} repeats (medians)")
    print(f"{'side':32s} {'images/s':>10s} {'first epoch s':>14s} {'harness / bare':>15s}  each repeat's ratio")
    for name, r in rows.items():
        ratio = f"{r['ratio_to_bare']:.3f}" if r["ratio_to_bare"] else "-"
        each = " ".join(f"{v:.3f}" for v in r["ratios"])
        print(f"{name:32s} {r['images_per_second']:10.1f} {r['first_epoch_seconds']:14.2f} {ratio:>15s}  {each}")
    result = {"rows": rows, "settings": vars(args) | {"images": n, "device": str(device)}, "env": env}
    save(args.out, result)
    return result


if __name__ == "__main__":
    main()
