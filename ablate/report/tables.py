"""Tables from the runs frame: summary per configuration, deltas, ladder steps, interactions, confusions."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ablate.records import COMPLETED
from ablate.report import stats


def completed(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs.status == COMPLETED]


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: n, mean, std, 95% t-interval, min, max of final test accuracy, and the rest."""
    rows = []
    done = completed(runs)
    for config, g in runs.groupby("config", sort=False):
        ok = done[done.config == config]
        mean, std, low, high = stats.t_interval(ok.test_acc)
        rows.append({
            "config": config, "n": len(ok), "failed": int((g.status == "failed").sum()),
            "missing": int((~g.status.isin([COMPLETED, "failed"])).sum()),
            "seeds": ",".join(str(s) for s in sorted(ok.seed.dropna().astype(int))),
            "test_acc_mean": mean, "test_acc_std": std, "test_acc_ci_low": low, "test_acc_ci_high": high,
            "test_acc_min": ok.test_acc.min() if len(ok) else math.nan,
            "test_acc_max": ok.test_acc.max() if len(ok) else math.nan,
            "test_acc_tta_mean": ok.test_acc_tta.mean(),
            "best_val_acc_mean": ok.best_val_acc.mean(),   # selection on val: not the headline
            "final_val_acc_mean": ok.val_acc.mean(),
            "train_val_gap_mean": (ok.train_acc - ok.val_acc).mean(),
            "test_ece_mean": ok.test_ece.mean(), "test_nll_mean": ok.test_nll.mean(),
            "train_seconds_mean": ok.train_seconds.mean(),
        })
    summary = pd.DataFrame(rows)
    if len(summary):
        # flag a configuration that lacks a seed some other configuration has: its deltas are unpaired
        every = set().union(*(set(s.split(",")) - {""} for s in summary.seeds))
        summary["seed_set_differs"] = [set(s.split(",")) - {""} != every for s in summary.seeds]
    return summary


def _compare(runs: pd.DataFrame, pairs: list[tuple[str, str]], kind: str) -> pd.DataFrame:
    done = completed(runs)
    rows = []
    for a, b in pairs:
        xa, xb = done[done.config == a].test_acc, done[done.config == b].test_acc
        w = stats.welch(xa, xb)
        sd = stats.pooled_sd(xa, xb)
        rows.append({"comparison": kind, "from": a, "to": b, "n_from": w["n_a"], "n_to": w["n_b"],
                     "mean_from": xa.mean(), "mean_to": xb.mean(), "delta": w["delta"],
                     "ci_low": w["low"], "ci_high": w["high"], "p": w["p"],
                     "seeds_for_80pct_power": stats.seeds_for_power(w["delta"], sd)})
    df = pd.DataFrame(rows)
    if len(df):
        df["p_holm"] = stats.holm(df.p)
        df["verdict"] = [stats.verdict(d, p) for d, p in zip(df.delta, df.p_holm)]
    return df


def deltas_vs_baseline(runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    others = [c for c in dict.fromkeys(runs.config) if c != baseline]
    return _compare(runs, [(baseline, c) for c in others], "vs baseline")


def ladder_steps(runs: pd.DataFrame, ladder: list[str]) -> pd.DataFrame:
    """Each rung against the previous rung (Holm-corrected over the ladder's steps)."""
    return _compare(runs, list(zip(ladder[:-1], ladder[1:])), "ladder step")


def factors(configs: list[str]) -> dict[str, list[str]]:
    """Override keys whose value varies across configurations, with their levels in the given order."""
    levels: dict[str, list[str]] = {}
    for config in configs:
        for tok in config.split(" "):
            if "=" in tok:
                k, v = tok.split("=", 1)
                levels.setdefault(k, [])
                if v not in levels[k]:
                    levels[k].append(v)
    return {k: v for k, v in levels.items() if len(v) > 1}


def interactions(runs: pd.DataFrame, configs: list[str]) -> pd.DataFrame:
    """For a factorial sweep: the effect of each factor (each level vs its first level) at each level of another.

    `configs` gives the sweep order: a factor's first level is its reference.
    """
    fs = factors(configs)
    if len(fs) < 2:
        return pd.DataFrame()
    done = completed(runs)
    split = done.config.str.split(" ")
    rows = []
    for f, f_levels in fs.items():
        for g, g_levels in fs.items():
            if f == g:
                continue
            for g_level in g_levels:
                at = split.apply(lambda toks: f"{g}={g_level}" in toks)
                base = done[at & split.apply(lambda toks: f"{f}={f_levels[0]}" in toks)].test_acc
                for level in f_levels[1:]:
                    arm = done[at & split.apply(lambda toks: f"{f}={level}" in toks)].test_acc
                    w = stats.welch(base, arm)
                    rows.append({"factor": f, "change": f"{f_levels[0]} -> {level}", "at": f"{g}={g_level}",
                                 "n": f"{w['n_a']}/{w['n_b']}", "delta": w["delta"], "ci_low": w["low"],
                                 "ci_high": w["high"], "p": w["p"]})
    return pd.DataFrame(rows)


def confused_pairs(runs: pd.DataFrame, config: str, top: int = 10) -> pd.DataFrame:
    """The most frequent (true -> predicted) mistakes, mean count per seed on the test split."""
    recs = [r for r in completed(runs)[lambda d: d.config == config]["_record"] if r.get("confusion_matrix")]
    if not recs:
        return pd.DataFrame()
    cm = np.mean([np.asarray(r["confusion_matrix"], dtype=float) for r in recs], axis=0)
    names = recs[0].get("class_names") or [str(i) for i in range(len(cm))]
    np.fill_diagonal(cm, 0)
    order = np.dstack(np.unravel_index(np.argsort(-cm, axis=None), cm.shape))[0][:top]
    total = np.asarray(recs[0]["confusion_matrix"]).sum(1)
    return pd.DataFrame([{"true": names[i], "predicted": names[j], "mean_count": cm[i, j],
                          "share_of_true_class": cm[i, j] / max(total[i], 1)} for i, j in order if cm[i, j] > 0])


def fmt(v, pct: bool = False, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "inf" if isinstance(v, float) and math.isinf(v) and v > 0 else "-"
    if isinstance(v, (float, np.floating)):
        return f"{100 * v:.{digits}f}" if pct else f"{v:.{max(digits, 3)}g}"
    return str(v)


def to_markdown(df: pd.DataFrame, pct_cols=()) -> str:
    if df.empty:
        return "_(none)_"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(fmt(row[c], c in pct_cols).replace("|", "\\|") for c in cols) + " |")
    return "\n".join(lines)


def to_latex(df: pd.DataFrame, pct_cols=()) -> str:
    esc = lambda s: str(s).replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%") \
        .replace("&", r"\&").replace("#", r"\#").replace("$", r"\$").replace("{", r"\{").replace("}", r"\}")
    cols = list(df.columns)
    out = [r"\begin{tabular}{" + "l" * len(cols) + "}", r"\hline", " & ".join(map(esc, cols)) + r" \\", r"\hline"]
    for _, row in df.iterrows():
        out.append(" & ".join(esc(fmt(row[c], c in pct_cols)) for c in cols) + r" \\")
    out += [r"\hline", r"\end{tabular}"]
    return "\n".join(out)
