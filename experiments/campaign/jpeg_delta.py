#!/usr/bin/env python3
"""What one more round of the offline copy's JPEG compression costs: the same runs (rung 2 of the 20-epoch ladder,
seeds 0-1) on the copy as it is and re-encoded once more (reencode_jpeg.py), final-epoch test accuracy, the
difference twice - once with a Welch 95% interval. The two sweeps differ only in data.root, which is placement
(not part of a run's identity), so the report would pool them: this compares them apart.

    python experiments/campaign/jpeg_delta.py ONCE_SWEEP TWICE_SWEEP [--out FILE.md]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from campaign_records import emit, precisions, records  # noqa: E402

from ablate.report.stats import t_interval, welch  # noqa: E402


def accuracies(sweep: Path) -> tuple[dict[int, float], set[str]]:
    """Final-epoch test accuracy (%) per seed of the sweep's completed records, and the precisions that ran."""
    recs = records(sweep)
    return {int(r["seed"]): 100 * r["metrics"]["test_acc"] for r in recs}, precisions(recs)


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("once", type=Path)
    p.add_argument("twice", type=Path)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    (once, p_once), (twice, p_twice) = accuracies(args.once), accuracies(args.twice)
    if len(once) < 2 or len(twice) < 2:
        raise SystemExit(f"need two completed seeds a side: {len(once)} and {len(twice)} (runs still training?)")
    if p_once != p_twice or len(p_once) > 1:
        raise SystemExit(f"the two sides ran at different precisions ({sorted(p_once)} and {sorted(p_twice)}): "
                         "rerun one side so both are one precision")
    lines = ["# One more round of JPEG quality 75 (4:2:0) on the offline CIFAR-10 copy", "",
             f"Rung 2 of the 20-epoch ladder (`experiment=ladder_short rung=2_cosine`, {p_once.pop()}), final-epoch test accuracy "
             "(%), on the JPEG copy as it is and on the same copy re-encoded once more "
             "(`experiments/campaign/reencode_jpeg.py`):", "",
             "| copy | seeds | test acc % per seed | mean [95% CI] |", "|---|---|---|---|"]
    for name, accs in (("as is (JPEG once)", once), ("re-encoded (JPEG twice)", twice)):
        mean, _, low, high = t_interval(list(accs.values()))
        lines.append(f"| {name} | {', '.join(map(str, accs))} | {', '.join(f'{a:.2f}' for a in accs.values())} | "
                     f"{mean:.2f} [{low:.2f}, {high:.2f}] |")
    w = welch(list(once.values()), list(twice.values()))
    lines += ["", f"Twice - once: **{w['delta']:+.2f} [{w['low']:+.2f}, {w['high']:+.2f}] points** (Welch, p = "
              f"{w['p']:.3f}). One more round of the same compression is evidence of the order of what the first "
              f"round cost against the official pixels, not a measurement of it."]
    return emit(lines, args.out)


if __name__ == "__main__":
    main()
