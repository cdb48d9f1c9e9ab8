"""The tables a person reads first: one line per configuration, and a ladder's rungs one step at a time."""
from __future__ import annotations

import pandas as pd

from ablate.record.metrics import BY_KEY, HEADLINE
from ablate.report import tables
from ablate.report.build import Report


def interval(mean: float, low: float = float("nan"), high: float = float("nan"), signed: bool = False,
             unit: str = "%") -> str:
    """'85.97 [85.10, 86.80]' in %, from fractions (any other unit: as is, 3 decimals); the mean alone when
    there is no interval, '-' for none."""
    if mean != mean:
        return "-"
    scale, f = (100, "{:+.2f}" if signed else "{:.2f}") if unit == "%" else (1, "{:+.3f}" if signed else "{:.3f}")
    text = f.format(scale * mean)
    return text + (f" [{f.format(scale * low)}, {f.format(scale * high)}]" if low == low and high == high else "")


def overview(report: Report) -> pd.DataFrame:
    """One line per configuration: n, test accuracy [CI], delta vs the baseline [CI], verdict, last-5 range."""
    deltas = report.deltas.set_index("to") if not report.deltas.empty else pd.DataFrame()
    rows = []
    for s in report.summary.itertuples():
        d = deltas.loc[s.config] if s.config in deltas.index else None
        rows.append({"config": report.labels.get(s.config, s.config), "n": s.n,
                     "test acc %": interval(s.test_acc_mean, s.test_acc_ci_low, s.test_acc_ci_high),
                     "delta vs baseline": "baseline" if s.config == report.baseline else
                     interval(d.delta, d.ci_low, d.ci_high, signed=True) if d is not None else "-",
                     "verdict": d.verdict if d is not None else "-",
                     "last-5 val range": "-" if s.val_acc_last5_range_mean != s.val_acc_last5_range_mean
                     else f"{100 * s.val_acc_last5_range_mean:.2f}"})
    return pd.DataFrame(rows)


def reference_figures(report: Report) -> dict[str, float]:
    """config -> the published test accuracy (a fraction) of each configuration --reference names; none where
    the reference holds another accuracy than the headline (a TTA figure beside a plain one would mislead)."""
    if report.reference.empty or report.reference_metric != HEADLINE.key:
        return {}
    return dict(zip(report.reference.config, report.reference.reference))


def ladder_overview(report: Report) -> pd.DataFrame:
    """One line per rung: n, test accuracy [CI], flip-TTA accuracy, the step from the rung below [CI] and its
    verdict, and the published figure when the report has a reference (--reference)."""
    if len(report.ladder) < 2:
        return pd.DataFrame()
    summary = report.summary.set_index("config")
    steps = report.ladder_steps.set_index("to") if not report.ladder_steps.empty else pd.DataFrame()
    reference = reference_figures(report)
    rows = []
    for rung in report.ladder:
        s = summary.loc[rung]
        step = steps.loc[rung] if rung in steps.index else None
        row = {"rung": report.labels.get(rung, rung), "n": int(s.n),
               "test acc % [95% CI]": interval(s.test_acc_mean, s.test_acc_ci_low, s.test_acc_ci_high),
               "flip TTA %": interval(s.test_acc_tta_mean),
               "step, points [95% CI]": "-" if step is None else interval(step.delta, step.ci_low, step.ci_high,
                                                                          signed=True),
               "verdict": "-" if step is None else step.verdict}
        if reference:
            row["reference %"] = f"{100 * reference[rung]:.1f}" if rung in reference else "-"
        rows.append(row)
    return pd.DataFrame(rows)


def interactions_overview(report: Report) -> pd.DataFrame:
    """One line per simple effect: a factor's change at one level of the others, in points [CI]."""
    if report.interactions.empty:
        return pd.DataFrame()
    return pd.DataFrame([{"factor": i.factor, "change": i.change, "at": i.at, "n": i.n,
                          "delta, points [95% CI]": interval(i.delta, i.ci_low, i.ci_high, signed=True)}
                         for i in report.interactions.itertuples()])


def interaction_contrasts_overview(report: Report) -> pd.DataFrame:
    """One line per 2x2 of configurations: how much one factor's effect changes with the other, [CI]."""
    if report.interaction_contrasts.empty:
        return pd.DataFrame()
    return pd.DataFrame([{"factors": i.factors, "changes": i.changes, "at": i.at, "n": i.n,
                          "interaction, points [95% CI]": interval(i.interaction, i.ci_low, i.ci_high, signed=True),
                          "verdict": i.verdict}
                         for i in report.interaction_contrasts.itertuples()])


def other_metrics_overview(report: Report) -> pd.DataFrame:
    """One line per metric and comparison: the means, the delta [CI] in the metric's unit, the verdict."""
    if report.other_metrics.empty:
        return pd.DataFrame()
    rows = []
    for r in report.other_metrics.to_dict("records"):
        name, unit = BY_KEY[r["metric"]].name, BY_KEY[r["metric"]].unit
        rows.append({"metric": f"{name}, {unit}", "from": report.labels.get(r["from"], r["from"]),
                     "to": report.labels.get(r["to"], r["to"]), "n": f"{r['n_from']}/{r['n_to']}",
                     "means": f"{interval(r['mean_from'], unit=unit)} -> {interval(r['mean_to'], unit=unit)}",
                     "delta [95% CI]": interval(r["delta"], r["ci_low"], r["ci_high"], signed=True, unit=unit),
                     "verdict": r["verdict"]})
    return pd.DataFrame(rows)


def glance(report: Report) -> str:
    """The at-a-glance tables as text, for the terminal at the end of a sweep or of `python -m ablate.report`."""
    if report.summary.empty or not (report.summary.n > 0).any():
        return "no completed runs yet"
    base = report.labels.get(report.baseline, report.baseline)
    text = (f"final-epoch test accuracy (%), mean [95% CI]; delta vs `{base}` in points [95% CI]:\n"
            + tables.to_markdown(overview(report), set()))
    ladder = ladder_overview(report)
    if not ladder.empty:
        text += "\n\nthe ladder, each rung against the one below:\n" + tables.to_markdown(ladder, set())
    effects = interactions_overview(report)
    if not effects.empty:
        text += ("\n\neach factor's effect at each level of the others (rows of one factor that disagree: the "
                 "factors interact):\n" + tables.to_markdown(effects, set()))
    contrasts = interaction_contrasts_overview(report)
    if not contrasts.empty:
        text += ("\n\nhow much one factor's effect changes with the other (effect at the other's second level - at "
                 "its first):\n" + tables.to_markdown(contrasts, set()))
    return text
