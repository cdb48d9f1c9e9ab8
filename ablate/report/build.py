"""Put a sweep's report together: pick the baseline and ladder, compute the tables, draw the figures."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ablate.record import sweep as collect
from ablate.record.metrics import HEADLINE
from ablate.report import tables
from ablate.record.sweep import match_config
from ablate.report.reference import load_reference, reference_table


@dataclass
class Report:
    runs: pd.DataFrame
    histories: pd.DataFrame
    summary: pd.DataFrame
    baseline: str | None
    deltas: pd.DataFrame
    ladder: list[str]
    ladder_steps: pd.DataFrame
    interactions: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)
    interaction_contrasts: pd.DataFrame = field(default_factory=pd.DataFrame)   # each 2x2's interaction
    other_metrics: pd.DataFrame = field(default_factory=pd.DataFrame)   # the ladder's steps / deltas on TTA, ECE, NLL
    reference: pd.DataFrame = field(default_factory=pd.DataFrame)   # against published figures (--reference)
    reference_source: str | None = None
    reference_metric: str = HEADLINE.key                            # the record's accuracy the reference holds
    baseline_query: str | None = None                               # --baseline as given, when it named a subset
    margin: float | None = None                                     # --margin / 100: the equivalence margin
    paired: pd.DataFrame = field(default_factory=pd.DataFrame)      # the same comparisons, seed against seed

    @property
    def configs(self) -> list[str]:
        return list(self.summary.config) if len(self.summary) else []


def default_order(runs: pd.DataFrame) -> list[str]:
    """Configurations in the order the sweep ran them (Hydra's job number), else as found."""
    has_num = runs.get("job_num") is not None and runs["job_num"].notna().any()
    ordered = runs.sort_values("job_num", kind="stable") if has_num else runs
    return list(dict.fromkeys(ordered.config))


def default_ladder(runs: pd.DataFrame) -> list[str]:
    """The configurations that are rungs of the `rung` group, in ladder order (rung names sort so)."""
    if "rung" not in runs:
        return []
    rung = runs.dropna(subset=["rung"]).groupby("config").rung.first()
    return sorted(rung.index, key=rung.get) if rung.nunique() == len(rung) > 1 else []


def check_margin(margin: float | None) -> None:
    if margin is not None and not (math.isfinite(margin) and margin > 0):
        raise ValueError(f"--margin {margin}: the equivalence margin is in accuracy points and must be > 0, "
                         f"e.g. --margin 0.5")


def build(sweep_dirs, baseline: str | None = None, ladder: list[str] | None = None,
          reference: str | Path | None = None, margin: float | None = None) -> Report:
    """margin: accuracy points (0.5 = half a point); a comparison neither better nor worse whose interval lies
    inside +-margin reads `within ±margin` instead of unresolved."""
    check_margin(margin)
    margin = None if margin is None else margin / 100
    runs = collect.load_runs(sweep_dirs)
    histories = collect.load_histories(runs) if len(runs) else pd.DataFrame()
    summary = tables.summarize(runs, histories) if len(runs) else pd.DataFrame()
    configs = default_order(runs) if len(runs) else []
    ladder = [match_config(configs, q) for q in ladder] if ladder else default_ladder(runs)
    configs = ladder + [c for c in configs if c not in ladder]     # a ladder reads bottom rung first
    if len(summary):
        summary = summary.set_index("config").loc[configs].reset_index()
    query = baseline
    if baseline:
        baseline = match_config(configs, baseline)
    elif ladder:
        baseline = ladder[0]
    elif configs:
        baseline = configs[0]
    deltas = tables.deltas_vs_baseline(runs, baseline, margin) if baseline and len(configs) > 1 else pd.DataFrame()
    steps = tables.ladder_steps(runs, ladder, margin) if len(ladder) > 1 else pd.DataFrame()
    inter = tables.interactions(runs, configs) if len(configs) > 1 else pd.DataFrame()
    labels = collect.short_labels(configs) if configs else {}
    report = Report(runs, histories, summary, baseline, deltas, ladder, steps, inter, labels, margin=margin)
    if query and set(query.replace(",", " ").split()) != set(baseline.split(" ")):
        report.baseline_query = query
    if not inter.empty:
        report.interaction_contrasts = tables.interaction_contrasts(runs, configs)
    pairs = list(zip(ladder[:-1], ladder[1:])) if len(ladder) > 1 else [(baseline, c) for c in configs if c != baseline]
    if pairs:
        report.other_metrics = tables.other_metrics(runs, pairs, margin)
        report.paired = tables.paired_by_seed(runs, pairs)
    if reference is not None:
        ref = load_reference(reference)
        report.reference_source, report.reference_metric = ref["source"], ref["metric"]
        if len(summary):
            report.reference = reference_table(runs, configs, ref)
    return report
