#!/usr/bin/env python3
"""Issue 28 item 3: does the order of the accuracy each trick buys at 9.9 epochs follow the order of the epochs
its author found it saves? The full recipe's records against each leave-one-out's, final-epoch test accuracy at
each TTA level (none / flip / multi-crop), the drop (full - left out) with a Welch 95% interval, and the
Spearman rank correlation between the multi-crop drops and the published epochs saved, with its exact
permutation p-value (one-sided: a larger drop where more epochs are saved). With five tricks the rank test can
only speak to a strong agreement; the intervals say which drops the seeds resolve at all.

    python experiments/campaign/airbench_order.py FULL_SWEEP LEAVE_ONE_OUT_SWEEP \
        [--published experiments/references/airbench94_leave_one_out.yaml] [--out FILE.md]
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import NamedTuple

from omegaconf import OmegaConf
from scipy import stats as scipy_stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from campaign_records import REPO, emit, precisions, records  # noqa: E402

from ablate.report.stats import t_interval, welch  # noqa: E402

LEVELS = (("none", "test_acc"), ("flip", "test_acc_tta"), ("multi-crop", "test_acc_tta_multicrop"))
PUBLISHED = REPO / "experiments/references/airbench94_leave_one_out.yaml"


def by_trick(recs: list[dict], tricks: dict) -> dict[str, dict[int, dict]]:
    """trick override -> seed -> metrics, for the records that leave exactly one known trick out (a record keeps
    its overrides as Hydra wrote them: model.whiten=False for model.whiten=false)."""
    out: dict[str, dict[int, dict]] = {t: {} for t in tricks}
    for r in recs:
        given = {o.lower() for o in r["overrides"]}
        hits = [t for t in tricks if t.lower() in given]
        if len(hits) == 1:
            out[hits[0]][int(r["seed"])] = r["metrics"]
    return out


def accuracies(per_seed: dict[int, dict], key: str) -> list[float]:
    return [100 * m[key] for _, m in sorted(per_seed.items()) if m.get(key) is not None]


def exact_spearman(x: list[float], y: list[float]) -> tuple[float, float]:
    """Spearman's rho and the one-sided exact p = P(rho >= observed) over all orderings of y."""
    rho = scipy_stats.spearmanr(x, y).statistic
    perms = [scipy_stats.spearmanr(x, p).statistic for p in itertools.permutations(y)]
    return float(rho), sum(r >= rho - 1e-12 for r in perms) / len(perms)


def pair_arguments(doc: str, other: str, argv=None) -> argparse.Namespace:
    """FULL_SWEEP OTHER_SWEEP [--published YAML] [--out FILE.md]: the arguments of this script and its siblings."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("full", type=Path)
    p.add_argument(other, type=Path)
    p.add_argument("--published", type=Path, default=PUBLISHED)
    p.add_argument("--out", type=Path)
    return p.parse_args(argv)


class Pair(NamedTuple):
    """The full recipe's records beside another sweep's, checked to be comparable."""
    published: dict                 # the author's figures (experiments/references/airbench94_leave_one_out.yaml)
    full: dict[int, dict]           # seed -> metrics of the full recipe
    other: list[dict]               # the other sweep's completed records
    precision: str                  # the one precision all of them ran in


def load_pair(full_sweep: Path, other_sweep: Path, published: Path, other_name: str) -> Pair:
    """Both sweeps' completed records; stops with the fix when the full recipe has under two seeds or the two
    sweeps ran in different precisions (a difference across precisions mixes the trick's worth with bf16's)."""
    full_recs, other_recs = records(full_sweep), records(other_sweep)
    full = {int(r["seed"]): r["metrics"] for r in full_recs}
    if len(full) < 2:
        raise SystemExit(f"need two completed seeds of the full recipe in {full_sweep}, found {len(full)}")
    precision = precisions(full_recs + other_recs)
    if len(precision) > 1:
        raise SystemExit(f"the records ran in different precisions (full recipe: {sorted(precisions(full_recs))}, "
                         f"{other_name}: {sorted(precisions(other_recs))}): compare folders of one precision, e.g. "
                         f"the bf16 {other_name} runs against the bf16 full recipe")
    return Pair(OmegaConf.to_container(OmegaConf.load(published)), full, other_recs, precision.pop())


def cell(w: dict) -> str:
    if w["n_a"] < 1 or w["n_b"] < 1:
        return "-"
    drop = w["delta"]             # welch(left out, full): mean(full) - mean(left out)
    if w["n_a"] < 2 or w["n_b"] < 2:
        return f"{drop:+.2f}"
    return f"{drop:+.2f} [{w['low']:+.2f}, {w['high']:+.2f}]"


def main(argv=None) -> str:
    a = pair_arguments(__doc__, "leave_one_out", argv)
    pair = load_pair(a.full, a.leave_one_out, a.published, "left out")
    pub, full, precision = pair.published, pair.full, pair.precision
    tricks, full_epochs = pub["tricks"], float(pub["full_epochs"])
    left = by_trick(pair.other, tricks)
    lines = ["# airbench94: what each trick buys at 9.9 epochs, against the epochs its author found it saves", "",
             f"Final-epoch test accuracy on the JPEG copy, {precision}; drop = full recipe - trick left out, "
             f"points, Welch 95% "
             f"interval; full recipe n={len(full)}. Published: {pub['source']}; the full recipe needs "
             f"{full_epochs:g}.", "",
             "| left out | published epochs (runs) | epochs saved | n | drop, no TTA | drop, flip TTA | "
             "drop, multi-crop TTA |", "|---|---|---|---|---|---|---|"]
    ranked = []
    for t, info in tricks.items():
        cells = [cell(welch(accuracies(left[t], k), accuracies(full, k))) for _, k in LEVELS]
        lines.append(f"| {info['name']} (`{t}`) | {info['epochs']:g} ({info['runs']}) | "
                     f"{info['epochs'] - full_epochs:.1f} | {len(left[t])} | " + " | ".join(cells) + " |")
        if len(left[t]) >= 1:
            ranked.append((info["epochs"] - full_epochs, t_interval(accuracies(full, "test_acc_tta_multicrop"))[0]
                           - t_interval(accuracies(left[t], "test_acc_tta_multicrop"))[0]))
    if "tta" in pub:            # not a training switch: the full recipe's own records at the lower TTA levels
        mc = accuracies(full, "test_acc_tta_multicrop")
        gains = [f"{t_interval([m - o for m, o in zip(mc, accuracies(full, k))])[0]:+.2f}" for _, k in LEVELS[:2]]
        lines += ["", f"{pub['tta']['name']} (published {pub['tta']['epochs']:g} epochs without it, "
                  f"{pub['tta']['runs']} runs): multi-crop - none {gains[0]} points, multi-crop - flip {gains[1]} "
                  f"points, paired over the same {len(mc)} runs."]
    if len(ranked) == len(tricks) and len(ranked) >= 3:
        rho, pval = exact_spearman([r[0] for r in ranked], [r[1] for r in ranked])
        lines += ["", f"Rank agreement of the multi-crop drops with the published epochs saved: Spearman rho = "
                  f"{rho:+.2f}, one-sided exact p = {pval:.3f} over the {len(ranked)}! orderings."]
        fewest = min(len(left[t]) for t in tricks)
        if fewest < 2:
            lines[-1] += (f" The test takes the drops' order as exact, and a trick here has {fewest} run (no "
                          f"interval): it says how well this one ordering matches, not that the order is known.")
    else:
        lines += ["", f"Rank agreement: not computed until every trick has a record ({len(ranked)} of "
                  f"{len(tricks)})."]
    return emit(lines, a.out)


if __name__ == "__main__":
    main()
