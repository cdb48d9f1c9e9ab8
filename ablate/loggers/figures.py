"""The figures a logger attaches to a finished job: its confusion matrix and its train/val curves, drawn by the
report's own functions from the job's record on disk."""
from __future__ import annotations

from pathlib import Path


def job_figures(job_dir: Path) -> dict:
    """{name: matplotlib figure} for one completed job folder (empty when it has no completed record)."""
    from ablate.report import figures
    from ablate.record.sweep import load_histories, load_runs

    runs = load_runs(job_dir, include_missing=False)
    runs = runs[runs.status == "completed"]
    if runs.empty:
        return {}
    config, label = runs.config.iloc[0], (runs._record.iloc[0] or {}).get("label") or "run"
    out = {"confusion_matrix": figures.confusion(runs, config, label)}
    histories = load_histories(runs)
    if not histories.empty:
        out["curves"] = figures.curves(histories, {config: label})
    return out
