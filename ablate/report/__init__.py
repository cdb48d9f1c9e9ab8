"""Sweep records -> tables (pandas) and figures (matplotlib), for `python -m ablate.report` and notebooks.

    from ablate import report
    r = report.build("multirun/2026-11-23/12-00-00_123")
    r.summary, r.deltas, r.ladder_steps, r.interactions      # DataFrames
    r.interaction_contrasts, r.other_metrics                 # each 2x2's interaction; TTA, ECE, NLL deltas
    report.glance.overview(r), report.glance.ladder_overview(r)   # the tables to read first
    report.figures.curves(r.histories, r.labels)             # a matplotlib Figure
"""
from ablate.report import classes, figures, glance, stats, tables
from ablate.report.build import Report, build
from ablate.report.markdown import write_report
from ablate.record.sweep import load_histories, load_runs

__all__ = ["Report", "build", "write_report", "load_runs", "load_histories", "classes", "figures", "glance", "stats", "tables"]
