"""The report's notes: short paragraphs that say what a table cannot, each present only when it applies (a
configuration without a validation split, pooled precisions, zero spread, an interval that clears 0 under an
unresolved verdict, a baseline matched by part of its name, the equivalence margin)."""
from __future__ import annotations

import pandas as pd

from ablate.report.build import Report


def no_validation(report: Report, runs: pd.DataFrame) -> list[str]:
    """A line naming the configurations trained without a validation split (data.val_size=0, as airbench94
    trains on all 50,000 images): their validation columns are empty, not missing by mistake."""
    done = runs[runs.status == "completed"] if len(runs) and "val_acc" in runs else runs.iloc[0:0]
    without = [report.labels.get(c, c) for c, g in done.groupby("config", sort=False) if g.val_acc.isna().all()]
    if not without:
        return []
    return [f"No validation split (`data.val_size=0`: trained on every training image): "
            f"{', '.join(f'`{c}`' for c in without)}. Their validation accuracy, train-val gap and last-5 val "
            f"range are empty; the test split is still only measured, never selected on.", ""]




def margin(report: Report) -> list[str]:
    """What `within ±M` means, where --margin asked for it."""
    if report.margin is None:
        return []
    m = f"{100 * report.margin:g}"
    return [f"Equivalence margin {m} points (`--margin {m}`): a comparison that is neither better nor worse reads "
            f"`within ±{m}` when its Welch interval at the table's Bonferroni level (95% for one comparison, "
            f"1 - 0.05/k for k) lies inside -{m} to +{m} points: at that level, the difference is smaller than "
            f"the margin. Else it stays unresolved. It applies to accuracies (TTA too), not to ECE or NLL.", ""]




def baseline_match(report: Report, base: str) -> list[str]:
    """--baseline picks the one configuration whose overrides contain the query's: say so, since a configuration
    renamed between two reports could turn the same query into another baseline without anything failing."""
    if not report.baseline_query:
        return []
    return [f"The baseline `{base}` is the one configuration whose overrides contain `--baseline "
            f"{report.baseline_query}` (the full name: `{report.baseline}`); pass that name to pin it.", ""]




def mixed_hardware(report: Report) -> list[str]:
    """A configuration whose seeds ran in different precisions or on different device types (trainer.precision=auto
    resolves per machine; the device is placement): they are pooled into one arm here, and the reader must know."""
    done = report.runs[report.runs.status == "completed"]
    mixed = []
    for config, runs in done.groupby("config", sort=True):
        parts = [f"{what} {', '.join(sorted(map(str, runs[col].dropna().unique())))}"
                 for col, what in (("precision", "precision"), ("device_type", "device"))
                 if col in runs and runs[col].dropna().nunique() > 1]
        if parts:
            mixed.append(f"`{report.labels.get(config, config)}` ({'; '.join(parts)})")
    if not mixed:
        return []
    return [f"**Warning:** the seeds of {', '.join(mixed)} ran in different precisions or on different devices, and "
            f"are pooled into one configuration here: a difference between those seeds may be the hardware's, not "
            f"seed noise. Run them with one `trainer.precision` (fp32 or bf16, not auto) and one device, or compare "
            f"them apart (`precision` and `device_type` are columns of `runs.csv`).", ""]




def zero_spread(report: Report) -> list[str]:
    """A configuration whose seeds all scored the same has an interval of zero width: say it is no precision."""
    same = report.summary[(report.summary.n >= 2) & (report.summary.test_acc_std == 0)]
    if same.empty:
        return []
    names = ", ".join(f"`{report.labels.get(c, c)}` ({n} seeds)" for c, n in zip(same.config, same.n))
    return [f"**Note:** every seed of {names} scored the same test accuracy, so its t-interval has zero width. "
            "That is a coincidence of few seeds, not a measured precision: more seeds will show its spread, and "
            "its deltas' intervals rest on the other side's spread alone.", ""]




def clear_but_unresolved(report: Report, comparisons: pd.DataFrame) -> list[str]:
    """A comparison whose uncorrected interval clears 0 but whose Holm-corrected verdict is unresolved: say why
    the two seem to disagree."""
    if comparisons.empty:
        return []
    clears_zero = (comparisons.ci_low > 0) | (comparisons.ci_high < 0)
    clear = comparisons[clears_zero & (comparisons.verdict == "unresolved")]
    if clear.empty:
        return []
    pairs = ", ".join(f"`{report.labels.get(r['from'], r['from'])}` -> `{report.labels.get(r['to'], r['to'])}` "
                      f"(p = {r['p']:.3g}, {r['p_holm']:.3g} after Holm)" for _, r in clear.iterrows())
    one = len(clear) == 1
    return [f"**Note:** the interval{'' if one else 's'} of {pairs} clear{'s' if one else ''} 0, yet the verdict "
            f"is unresolved: an interval is the comparison's own, uncorrected, while the verdict is "
            f"Holm-corrected over the table's {len(comparisons)} comparisons. More seeds would settle it (see `seeds_for_80pct_power`).", ""]
