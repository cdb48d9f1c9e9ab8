#!/usr/bin/env python3
"""Issue 30 run 2: how much of the top rung's shortfall against the lesson do the widths explain? The ladder's
rung 2 (cosine lr, momentum, weight decay; 100 epochs) at its own widths (48-96-192-384, the baseline) and at the
other widths run, final-epoch test accuracy: each width's difference from the baseline with a 95% interval, and
that difference as a share of the shortfall (the lesson's figure for the rung - the baseline's mean).

One run at a width has no spread of its own: its interval is the baseline's prediction interval turned around
(run - mean +- t * sd * sqrt(1 + 1/n), df n-1), which assumes a run's seed noise is the same at every width. Two or
more runs: Welch. The lesson's figure is approximate (~88), so the share is a reading, not a measurement.

    python experiments/campaign/ladder_widths.py LADDER_SWEEP WIDTHS_SWEEP... [--rung 2_cosine]
        [--reference experiments/references/cifar10_ladder_lesson.yaml] [--out FILE.md]
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from campaign_records import REPO, emit, precisions, records  # noqa: E402

from ablate.report.stats import prediction_interval, t_interval, welch  # noqa: E402

LESSON = REPO / "experiments/references/cifar10_ladder_lesson.yaml"


def by_widths(recs: list[dict], rung: str) -> dict[tuple[int, ...], list[dict]]:
    """widths -> the completed records of `rung` at those widths (the record's resolved model config)."""
    out: dict[tuple[int, ...], list[dict]] = defaultdict(list)
    for r in recs:
        if r.get("choices", {}).get("rung") == rung or f"rung={rung}" in r["overrides"]:
            out[tuple(r["config"]["model"]["widths"])].append(r)
    return out


def test_accs(recs: list[dict]) -> list[float]:
    """Final-epoch test accuracy, %, of each record."""
    return [100 * r["metrics"]["test_acc"] for r in recs]


def difference(runs: list[float], base: list[float]) -> tuple[float, float, float]:
    """runs - base in points, with its 95% interval (see the module's docstring)."""
    if len(runs) == 1:
        low, high = prediction_interval(base)
        return runs[0] - t_interval(base)[0], runs[0] - high, runs[0] - low
    w = welch(runs, base)
    return -w["delta"], -w["high"], -w["low"]          # welch(a, b) gives mean(b) - mean(a)


def row(widths: tuple[int, ...], recs: list[dict], base: list[float] | None, shortfall: float) -> str:
    accs = test_accs(recs)
    mean, _, low, high = t_interval(accs)
    shown = f"{mean:.2f}" if len(accs) < 2 else f"{mean:.2f} [{low:.2f}, {high:.2f}]"
    name, precision = "-".join(map(str, widths)), ", ".join(sorted(precisions(recs)))
    if base is None:
        return f"| {name} (the ladder's) | {precision} | {len(accs)} | {shown} | - | - |"
    d, d_low, d_high = difference(accs, base)
    return (f"| {name} | {precision} | {len(accs)} | {shown} | {d:+.2f} [{d_low:+.2f}, {d_high:+.2f}] | "
            f"{100 * d / shortfall:+.0f}% [{100 * d_low / shortfall:+.0f}%, {100 * d_high / shortfall:+.0f}%] |")


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ladder", type=Path, help="the ladder's sweep (its rung at the ladder's widths)")
    p.add_argument("widths", type=Path, nargs="+", help="sweeps of the same rung at other widths")
    p.add_argument("--rung", default="2_cosine")
    p.add_argument("--reference", type=Path, default=LESSON)
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    lesson = OmegaConf.to_container(OmegaConf.load(a.reference))["test_acc"].get(f"rung={a.rung}")
    if lesson is None:
        raise SystemExit(f"{a.reference} has no test_acc figure for rung={a.rung}: pick a rung it lists")
    ladder = by_widths(records(a.ladder), a.rung)
    if len(ladder) != 1:
        raise SystemExit(f"{a.ladder}: expected the rung {a.rung} at one width (the ladder's), found "
                         f"{sorted(ladder) or 'none'}: pass the ladder's sweep first")
    (base_widths, base_recs), = ladder.items()
    base = test_accs(base_recs)
    if len(base) < 2:
        raise SystemExit(f"need two completed seeds of rung {a.rung} in {a.ladder}, found {len(base)}")
    others: dict[tuple[int, ...], list[dict]] = defaultdict(list)
    for sweep in a.widths:
        for widths, recs in by_widths(records(sweep), a.rung).items():
            others[widths] += recs
    shortfall = float(lesson) - t_interval(base)[0]
    lines = [f"# The ladder's rung {a.rung} at other widths, against the lesson's ~{lesson:g}%", "",
             f"Final-epoch test accuracy on the JPEG copy, %, small_cnn. Difference from the ladder's widths in "
             f"points with a 95% interval (one run: the ladder's prediction interval turned around, assuming the "
             f"same seed noise at every width; two or more: Welch). Share: the difference over the shortfall, "
             f"~{lesson:g} - {t_interval(base)[0]:.2f} = {shortfall:.2f} points (the lesson's figure is approximate).",
             "", "| widths | precision | n | test acc % | minus the ladder's widths, points | share of the shortfall |",
             "|---|---|---|---|---|---|"]
    for widths in sorted({base_widths, *others}):
        lines.append(row(widths, base_recs if widths == base_widths else others[widths],
                         None if widths == base_widths else base, shortfall))
    return emit(lines, a.out)


if __name__ == "__main__":
    main()
