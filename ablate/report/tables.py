"""Tables from the runs frame: summary per configuration, deltas, ladder steps, interactions, confusions."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from ablate.record.files import COMPLETED
from ablate.record.metrics import COMPARED, SUMMARISED
from ablate.report import stats


def completed(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs.status == COMPLETED]


def last_epochs_range(histories: pd.DataFrame, epochs: int = 5) -> pd.Series:
    """Per run folder: max - min of val accuracy over its last `epochs` epochs (how noisy the final-epoch
    figure is: large for a constant learning rate, small after an annealed schedule)."""
    if histories.empty or "val_acc" not in histories:
        return pd.Series(dtype=float)
    tail = histories.sort_values("epoch").groupby("run_dir").tail(epochs)
    return tail.groupby("run_dir").val_acc.agg(lambda v: v.max() - v.min())


def summarize(runs: pd.DataFrame, histories: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per configuration: n, mean, std, 95% t-interval (within [0, 1]), min, max of final test accuracy,
    and the rest."""
    rows = []
    done = completed(runs)
    spread = last_epochs_range(histories if histories is not None else pd.DataFrame())
    for config, g in runs.groupby("config", sort=False):
        ok = done[done.config == config]
        mean, std, low, high = stats.t_interval(ok.test_acc, bounds=(0.0, 1.0))
        row = {
            "config": config, "n": len(ok), "failed": int((g.status == "failed").sum()),
            "missing": int((~g.status.isin([COMPLETED, "failed"])).sum()),
            "seeds": ",".join(str(s) for s in sorted(ok.seed.dropna().astype(int))),
            "test_acc_mean": mean, "test_acc_std": std, "test_acc_ci_low": low, "test_acc_ci_high": high,
            "test_acc_min": ok.test_acc.min() if len(ok) else math.nan,
            "test_acc_max": ok.test_acc.max() if len(ok) else math.nan,
        }
        per_run = {"val_acc_last5_range": pd.Series([spread.get(d, math.nan) for d in ok.run_dir], dtype=float),
                   "train_val_gap": ok.train_acc - ok.val_acc}       # the table's metrics not in a record
        row.update({m.summary: (ok[m.key] if m.in_record else per_run[m.key]).mean() for m in SUMMARISED})
        rows.append({**row, "train_seconds_mean": ok.train_seconds.mean()})
    summary = pd.DataFrame(rows)
    if len(summary):
        # flag a configuration that lacks a seed some other configuration has: its deltas are unpaired
        every = set().union(*(set(s.split(",")) - {""} for s in summary.seeds))
        summary["seed_set_differs"] = [n > 0 and set(s.split(",")) - {""} != every
                                       for s, n in zip(summary.seeds, summary.n)]
    return summary


def _waiting_for(n_from: int, n_to: int, a: str, b: str) -> str:
    """Why a comparison has no verdict: which side has no completed run yet."""
    missing = [c for c, n in ((a, n_from), (b, n_to)) if not n]
    return "no runs yet" if len(missing) == 2 else f"no {missing[0]} run yet"


def _compare(runs: pd.DataFrame, pairs: list[tuple[str, str]], kind: str, metric: str = "test_acc",
             higher_is_better: bool = True, margin: float | None = None) -> pd.DataFrame:
    """Welch deltas b - a with Holm-corrected verdicts. margin (same units as the metric; None: off): a
    comparison that is not better or worse is `within ±margin` when its interval at the table's Bonferroni level
    lies inside the margin (stats.within_margin), else unresolved."""
    done = completed(runs)
    rows = []
    # the seeds that would resolve a delta are counted at the Bonferroni level of the table's family, which
    # no Holm-corrected p-value of the family needs to beat: that many seeds resolve it whatever its rank
    family_alpha = stats.ALPHA / max(len(pairs), 1)
    for a, b in pairs:
        xa, xb = done[done.config == a][metric], done[done.config == b][metric]
        w = stats.welch(xa, xb)
        within = margin is not None and stats.within_margin(xa, xb, margin, len(pairs))
        rows.append({"comparison": kind, "from": a, "to": b, "n_from": w["n_a"], "n_to": w["n_b"], "_within": within,
                     "mean_from": xa.mean(), "mean_to": xb.mean(), "delta": w["delta"],
                     "ci_low": w["low"], "ci_high": w["high"], "p": w["p"],
                     "seeds_for_80pct_power": stats.seeds_for_power(w["delta"], stats.sd(xa), stats.sd(xb),
                                                                      alpha=family_alpha)})
    df = pd.DataFrame(rows)
    if len(df):
        df["p_holm"] = stats.holm(df.p)
        df["verdict"] = [_waiting_for(na, nb, a, b) if not (na and nb) else
                         "needs 2+ seeds a side" if min(na, nb) < 2 else
                         stats.verdict(d if higher_is_better else -d, p)
                         for d, p, na, nb, a, b in zip(df.delta, df.p_holm, df.n_from, df.n_to, df["from"], df.to)]
        if margin is not None:
            df.loc[(df.verdict == "unresolved") & df._within, "verdict"] = stats.margin_label(margin)
    return df.drop(columns="_within") if "_within" in df else df


def deltas_vs_baseline(runs: pd.DataFrame, baseline: str, margin: float | None = None) -> pd.DataFrame:
    others = [c for c in dict.fromkeys(runs.config) if c != baseline]
    return _compare(runs, [(baseline, c) for c in others], "vs baseline", margin=margin)


def other_metrics(runs: pd.DataFrame, pairs: list[tuple[str, str]], margin: float | None = None) -> pd.DataFrame:
    """The same comparisons on each metric the metric table marks compared (Holm over each metric's
    comparisons); `better` follows the metric's direction (a lower ECE is better). The accuracy margin, where
    given, applies to the other accuracies (TTA) only: ECE and NLL have other units."""
    frames = [_compare(runs, pairs, "other metric", m.key, m.higher_is_better,
                       margin if m.key.startswith("test_acc") else None).assign(metric=m.key)
              for m in COMPARED if m.key in runs and runs[m.key].notna().any()]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def ladder_steps(runs: pd.DataFrame, ladder: list[str], margin: float | None = None) -> pd.DataFrame:
    """Each rung against the previous rung (Holm-corrected over the ladder's steps)."""
    return _compare(runs, list(zip(ladder[:-1], ladder[1:])), "ladder step", margin=margin)


def paired_by_seed(runs: pd.DataFrame, pairs: list[tuple[str, str]], metric: str = "test_acc") -> pd.DataFrame:
    """The same comparisons seed against seed, over the seeds both sides completed (a seed run twice counts
    with its mean): the paired 95% interval of b - a, p-values Holm-corrected over the table, the pairs'
    correlation r, and width_vs_welch, the paired interval's width over Welch's on the same runs (below 1
    where a seed's runs move together)."""
    done = completed(runs).dropna(subset=["seed", metric])
    rows = []
    for a, b in pairs:
        by_seed = [done[done.config == c].groupby("seed")[metric].mean() for c in (a, b)]
        xa, xb = (s.loc[sorted(set(by_seed[0].index) & set(by_seed[1].index))] for s in by_seed)
        d, w = stats.paired(xa, xb), stats.welch(xa, xb)
        width = (d["high"] - d["low"]) / (w["high"] - w["low"]) if w["high"] > w["low"] else math.nan
        rows.append({"from": a, "to": b, "n_pairs": d["n"], "delta": d["delta"], "ci_low": d["low"],
                     "ci_high": d["high"], "p": d["p"], "r": d["r"], "width_vs_welch": width})
    df = pd.DataFrame(rows)
    if len(df):
        df.insert(df.columns.get_loc("p") + 1, "p_holm", stats.holm(df.p))
    return df


def factors(configs: list[str]) -> dict[str, list[str]]:
    """Override keys whose value varies across configurations, with their levels in the given order
    (`rung` names a bundle of other factors, so it is not one)."""
    levels: dict[str, list[str]] = {}
    for config in configs:
        for tok in config.split(" "):
            if "=" in tok and not tok.startswith("rung="):
                k, v = tok.split("=", 1)
                levels.setdefault(k, [])
                if v not in levels[k]:
                    levels[k].append(v)
    return {k: v for k, v in levels.items() if len(v) > 1}


def _settings(configs: list[str], fs: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """Per configuration: its level of each factor."""
    return {c: {k: v for k, v in (t.split("=", 1) for t in c.split(" ") if "=" in t) if k in fs} for c in configs}


def _find(settings: dict[str, dict[str, str]], wanted: dict[str, str]) -> str | None:
    return next((c for c, s in settings.items() if s == wanted), None)


def _at(rest: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(rest.items())) or "-"


def interactions(runs: pd.DataFrame, configs: list[str]) -> pd.DataFrame:
    """Simple effects: each factor's change from its first level, between two configurations that differ in
    that factor alone, at the levels the other factors share. When one factor's rows disagree across the
    levels of another, the two interact. `configs` gives the sweep order (a factor's first level is its
    reference). Works for full factorials and for any set where such pairs exist (a ladder plus a 2x2)."""
    fs = factors(configs)
    if len(fs) < 2:
        return pd.DataFrame()
    done = completed(runs)
    settings = _settings(configs, fs)
    rows = []
    for f, f_levels in fs.items():
        for a in configs:
            if settings[a].get(f) != f_levels[0]:
                continue
            rest = {k: v for k, v in settings[a].items() if k != f}
            for level in f_levels[1:]:
                b = _find(settings, {**settings[a], f: level})
                if b is None:
                    continue
                w = stats.welch(done[done.config == a].test_acc, done[done.config == b].test_acc)
                rows.append({"factor": f, "change": f"{f_levels[0]} -> {level}", "at": _at(rest),
                             "n": f"{w['n_a']}/{w['n_b']}", "delta": w["delta"], "ci_low": w["low"],
                             "ci_high": w["high"], "p": w["p"]})
    return pd.DataFrame(rows)


WEIGHTS_2X2 = (1, -1, -1, 1)      # cells: reference, first factor changed, second changed, both


def two_by_twos(configs: list[str], fs: dict[str, list[str]]):
    """Each 2x2 of configurations that two factors span with the other factors' levels shared:
    (factor f, factor g, f's changed level, g's changed level, the shared levels, the four cells)."""
    settings = _settings(configs, fs)
    names = list(fs)
    for i, f in enumerate(names):
        for g in names[i + 1:]:
            for ref in [c for c in configs if settings[c].get(f) == fs[f][0] and settings[c].get(g) == fs[g][0]]:
                s = settings[ref]
                for fl, gl in itertools.product(fs[f][1:], fs[g][1:]):
                    cells = [ref, _find(settings, {**s, f: fl}), _find(settings, {**s, g: gl}),
                             _find(settings, {**s, f: fl, g: gl})]
                    if None not in cells:
                        yield f, g, fl, gl, {k: v for k, v in s.items() if k not in (f, g)}, cells


def interaction_contrasts(runs: pd.DataFrame, configs: list[str]) -> pd.DataFrame:
    """For each 2x2 of configurations that two factors span: how much the first factor's effect changes at
    the second's other level, (ab - b) - (a - ref), which is the same number read the other way round.
    Welch-Satterthwaite interval over the four cells; p-values Holm-corrected over the table; verdict
    `interact` or `unresolved`; the seeds per cell that would resolve the observed interaction with 80%
    power at the table's Bonferroni level."""
    fs = factors(configs)
    done = completed(runs)
    rows, spreads, fewest = [], [], []
    for f, g, fl, gl, shared, cells in two_by_twos(configs, fs):
        accs = [done[done.config == x].test_acc for x in cells]
        c = stats.contrast(accs, WEIGHTS_2X2)
        spreads.append([stats.sd(a) for a in accs])
        fewest.append(min(c["ns"]))
        rows.append({"factors": f"{f} x {g}", "changes": f"{fs[f][0]} -> {fl} x {fs[g][0]} -> {gl}",
                     "at": _at(shared), "n": "/".join(str(n) for n in c["ns"]), "interaction": c["estimate"],
                     "ci_low": c["low"], "ci_high": c["high"], "p": c["p"]})
    df = pd.DataFrame(rows)
    if len(df):
        df["p_holm"] = stats.holm(df.p)
        df["verdict"] = ["needs 2+ seeds in every cell" if least < 2 else
                         "interact" if stats.verdict(d, p) != "unresolved" else "unresolved"
                         for d, p, least in zip(df.interaction, df.p_holm, fewest)]
        df["seeds_for_80pct_power"] = [stats.seeds_for_power(d, *sds, weights=WEIGHTS_2X2, alpha=stats.ALPHA / len(df))
                                       for d, sds in zip(df.interaction, spreads)]
    return df


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
