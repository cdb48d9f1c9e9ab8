"""Figures: train/val curves with seed bands, the ladder, confusion matrices, per-class deltas, reliability."""
from __future__ import annotations

import math
import re
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ablate.report import stats  # noqa: E402
from ablate.report.tables import completed  # noqa: E402


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)[:80].strip("_") or "config"


def curves(histories: pd.DataFrame, labels: dict[str, str]):
    """Train vs val accuracy and loss per configuration: mean over seeds, min-max band, the gap shaded."""
    configs = list(labels)
    cols = min(len(configs), 4)
    rows_per = math.ceil(len(configs) / cols)
    fig, axes = plt.subplots(2 * rows_per, cols, figsize=(4 * cols, 5.6 * rows_per), squeeze=False,
                             sharex=True)
    for i, config in enumerate(configs):
        h = histories[histories.config == config]
        r, c = divmod(i, cols)
        for k, (metric, ylabel) in enumerate((("acc", "accuracy"), ("loss", "loss"))):
            ax = axes[2 * r + k, c]
            means = {}
            for split, color in (("train", "tab:blue"), ("val", "tab:orange")):
                g = h.groupby("epoch")[f"{split}_{metric}"]
                m, lo, hi = g.mean(), g.min(), g.max()
                means[split] = m
                ax.plot(m.index, m.values, color=color, label=split)
                ax.fill_between(m.index, lo.values, hi.values, color=color, alpha=0.2, linewidth=0)
            if len(means["train"]) and means["val"].notna().any():
                ax.fill_between(means["train"].index, means["train"].values, means["val"].values,
                                color="grey", alpha=0.15, hatch="//", linewidth=0, label="gap")
            ax.set_ylabel(ylabel)
            if k == 0:
                ax.set_title(labels[config], fontsize=9)
            if i == 0:
                ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
        axes[2 * r + 1, c].set_xlabel("epoch")
        for ax in (axes[2 * r, c], axes[2 * r + 1, c]):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))     # epochs are whole numbers
    for j in range(len(configs), rows_per * cols):
        r, c = divmod(j, cols)
        axes[2 * r, c].axis("off")
        axes[2 * r + 1, c].axis("off")
    fig.tight_layout()
    return fig


def ladder(summary: pd.DataFrame, steps: pd.DataFrame, order: list[str], labels: dict[str, str],
           reference: dict[str, float] | None = None, reference_name: str = "reference",
           runs: pd.DataFrame | None = None):
    """Mean test accuracy per rung with its 95% interval, and each step's gain with its Welch interval;
    `reference` (config -> accuracy in [0, 1]) adds the published figure of each rung that has one; `runs`
    adds every completed run as a small dot beside its rung, once some rung has two seeds (with two seeds a
    t-interval is 12.7 standard errors wide: the dots show what was actually measured).

    Points, not bars: the axis does not start at zero, and bars would exaggerate the gains.
    """
    s = summary.set_index("config").loc[order]
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(order), 4))
    x = np.arange(len(order))
    mean = 100 * s.test_acc_mean.values
    err = 100 * np.vstack([s.test_acc_mean - s.test_acc_ci_low, s.test_acc_ci_high - s.test_acc_mean])
    ax.plot(x, mean, "-", color="tab:blue", alpha=0.4)
    ax.errorbar(x, mean, yerr=np.nan_to_num(err), fmt="o", color="tab:blue", ecolor="black", capsize=4,
                label="ours (mean, 95% interval)")
    dots = _seed_dots(ax, runs, order) if runs is not None and (s.n >= 2).any() else np.array([])
    ref = 100 * np.array([(reference or {}).get(c, np.nan) for c in order], dtype=float)
    if np.isfinite(ref).any():
        ax.plot(x, ref, "D", mfc="none", color="tab:gray", markersize=7, label=reference_name)
    if np.isfinite(ref).any() or len(dots):
        ax.legend(loc="best", fontsize=7)
    notes = []
    for i, step in enumerate(steps.itertuples(), start=1):
        if not np.isfinite(mean[i]) or not np.isfinite(step.delta):
            continue
        interval = (f"[{100 * step.ci_low:+.2f}, {100 * step.ci_high:+.2f}]" if np.isfinite(step.ci_low)
                    else "(no interval: n < 2)")
        above = np.nanmax([mean[i] + np.nan_to_num(err[1][i]), ref[i]])     # clear of the interval and reference
        notes.append(ax.annotate(f"{100 * step.delta:+.2f}\n{interval}\n{step.verdict}", (i, above),
                                 textcoords="offset points", xytext=(0, 8), ha="center", fontsize=7))
    # a long configuration name (a ladder pooled with a factorial names every factor) wraps onto lines
    ax.set_xticks(x, [textwrap.fill(labels.get(c, c), 22, break_long_words=False, break_on_hyphens=False)
                      for c in order], fontsize=8)
    ax.set_xlim(-0.5, len(order) - 0.5)
    ax.set_ylabel("final test accuracy (%)")
    top = np.nanmax(np.concatenate([mean + np.nan_to_num(err[1]), ref, dots]))
    bottom = np.nanmin(np.concatenate([mean - np.nan_to_num(err[0]), ref, dots])) - 2
    ax.set_ylim(bottom, top + 0.04 * (top - bottom))       # the notes above the rungs get their room below
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("final test accuracy per rung (mean, 95% t-interval)\nabove each rung: its gain over the "
                 "previous rung [Welch 95% interval, uncorrected] and its verdict (Holm-corrected over the steps)",
                 fontsize=8, wrap=True)
    fig.tight_layout()
    _raise_top_to_fit(fig, ax, notes)
    return fig


def _raise_top_to_fit(fig, ax, texts) -> None:
    """Raise the y-axis top until every text drawn above a point lies inside the axes: how much room three
    lines of text need in data units depends on the axes' height, which the tick labels and tight_layout set."""
    for _ in range(5):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        box = ax.get_window_extent(renderer)
        over = max((t.get_window_extent(renderer).y1 for t in texts), default=box.y1) - box.y1
        if over <= 0:
            return
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + (over + 6) * (high - low) / box.height)
        fig.tight_layout()


def _seed_dots(ax, runs: pd.DataFrame, order: list[str]) -> np.ndarray:
    """Each completed run's final test accuracy (%) as a small dot just right of its rung; returns them."""
    done = completed(runs)
    xs, ys = [], []
    for i, config in enumerate(order):
        acc = 100 * done[done.config == config].test_acc.dropna().to_numpy(dtype=float)
        xs += [i + 0.12] * len(acc)
        ys += acc.tolist()
    ax.plot(xs, ys, ".", color="tab:orange", markersize=5, alpha=0.8, label="each seed's run")
    return np.array(ys, dtype=float)


def confusion(runs: pd.DataFrame, config: str, label: str):
    """Row-normalised confusion matrix (counts summed over seeds) with class names."""
    recs = [r for r in completed(runs)[lambda d: d.config == config]["_record"] if r.get("confusion_matrix")]
    cm = np.sum([np.asarray(r["confusion_matrix"], dtype=float) for r in recs], axis=0)
    names = recs[0].get("class_names") or [str(i) for i in range(len(cm))]
    pct = 100 * cm / np.maximum(cm.sum(1, keepdims=True), 1)
    k = len(names)
    fig, ax = plt.subplots(figsize=(1.6 + 0.55 * k, 1 + 0.5 * k))
    im = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    if k <= 20:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{pct[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if pct[i, j] > 50 else "black")
        ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{label} (% of true class, {len(recs)} seed(s))", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, label="% of the true class")
    fig.tight_layout()
    return fig


def val_overlay(histories: pd.DataFrame, labels: dict[str, str]):
    """Every configuration's val accuracy per epoch on one axis: mean over seeds, min-max band."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for config, label in labels.items():
        g = histories[histories.config == config].groupby("epoch").val_acc
        m = 100 * g.mean()
        n = histories[histories.config == config].run_dir.nunique()
        line, = ax.plot(m.index, m.values, label=f"{label} (n={n})")
        ax.fill_between(m.index, 100 * g.min().values, 100 * g.max().values, color=line.get_color(), alpha=0.15,
                        linewidth=0)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("val accuracy (%)")
    ax.set_title("val accuracy per epoch, every configuration (mean over seeds, band: min to max)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def per_class_heatmap(table: pd.DataFrame):
    """Accuracy per class (rows) and configuration (columns), in %."""
    pct = 100 * table.to_numpy(dtype=float)
    k, m = pct.shape
    fig, ax = plt.subplots(figsize=(2.4 + 1.3 * m, 1 + 0.42 * k))
    im = ax.imshow(pct, cmap="viridis", vmin=max(0, np.nanmin(pct) - 5), vmax=100, aspect="auto")
    for i in range(k):
        for j in range(m):
            ax.text(j, i, f"{pct[i, j]:.1f}", ha="center", va="center", fontsize=7,
                    color="black" if pct[i, j] > np.nanmean(pct) else "white")
    ax.set_xticks(range(m), list(table.columns), rotation=20, ha="right", fontsize=8)
    ax.set_yticks(range(k), list(table.index), fontsize=8)
    ax.set_title("test accuracy per class (%), mean over seeds", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, label="%")
    fig.tight_layout()
    return fig


def per_class_delta(runs: pd.DataFrame, a: str, b: str, labels: dict[str, str]):
    """Per-class accuracy of b minus a, with each class's 95% noise band from the seed spread."""
    done = completed(runs)
    # null (a class without test images) reads as NaN: no bar, no band
    pa = np.array([r["metrics"]["per_class_acc"] for r in done[done.config == a]["_record"]], dtype=float)
    pb = np.array([r["metrics"]["per_class_acc"] for r in done[done.config == b]["_record"]], dtype=float)
    names = done[done.config == b]["_record"].iloc[0].get("class_names")
    delta = 100 * (pb.mean(0) - pa.mean(0))
    intervals = [stats.welch(pa[:, i], pb[:, i]) for i in range(pa.shape[1])]
    noise = np.array([100 * (w["high"] - w["low"]) / 2 for w in intervals])
    fig, ax = plt.subplots(figsize=(1.5 + 0.6 * len(delta), 3.6))
    x = np.arange(len(delta))
    colors = ["tab:green" if d > n else "tab:red" if d < -n else "tab:grey"
              for d, n in zip(delta, np.nan_to_num(noise, nan=np.inf))]
    ax.bar(x, delta, color=colors)
    ax.errorbar(x, delta, yerr=np.nan_to_num(noise), fmt="none", color="black", capsize=3,
                label="95% interval (seed noise)")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("per-class accuracy change (points)")
    ax.set_title(f"{labels.get(b, b)}  vs  {labels.get(a, a)}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def confused_pairs_chart(pairs: pd.DataFrame, label: str):
    fig, ax = plt.subplots(figsize=(6, 0.4 * max(len(pairs), 1) + 1.2))
    names = [f"{t} -> {p}" for t, p in zip(pairs.true, pairs.predicted)]
    ax.barh(range(len(pairs)), 100 * pairs.share_of_true_class.values, color="tab:purple")
    ax.set_yticks(range(len(pairs)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("% of the true class's test images")
    ax.set_title(f"top confusions: {label}", fontsize=9)
    fig.tight_layout()
    return fig


RELIABILITY_MIN_IMAGES = 10     # a bin of 1-9 images (pooled over seeds) plots its noise as a spike to 0 or 1


def reliability(runs: pd.DataFrame, configs: list[str], labels: dict[str, str]):
    """Accuracy against confidence per configuration (bins pooled over seeds, those of under
    RELIABILITY_MIN_IMAGES images left out); the diagonal is calibrated."""
    done = completed(runs)
    fig, ax = plt.subplots(figsize=(5.2, 4.4 + 0.25 * len(configs)))
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1)
    for config in configs:
        recs = [r for r in done[done.config == config]["_record"] if r["metrics"].get("reliability")]
        if not recs:
            continue
        count = np.sum([r["metrics"]["reliability"]["count"] for r in recs], axis=0)
        correct = np.sum([r["metrics"]["reliability"]["correct"] for r in recs], axis=0)
        conf = np.sum([r["metrics"]["reliability"]["confidence"] for r in recs], axis=0)
        keep = count >= RELIABILITY_MIN_IMAGES
        ece = np.mean([r["metrics"]["test_ece"] for r in recs])
        label = f"{labels.get(config, config)} (ECE {100 * ece:.1f}%)"
        ax.plot(conf[keep] / count[keep], correct[keep] / count[keep], "o-", markersize=3,
                label=textwrap.fill(label, 60, break_long_words=False, break_on_hyphens=False))
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"reliability (test split; bins of under {RELIABILITY_MIN_IMAGES} images not drawn)", fontsize=9)
    # below the axes: inside, long names cover the low-confidence bins and run off the figure's edge
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    fig.tight_layout()
    return fig
