"""What resolve reads from a sweep (its comparisons, as the report makes them; each configuration's accuracies;
what a run costs) and how it asks the sweep for more seeds: the sweep's own overrides and launcher, new seeds,
the same hydra.sweep.dir, so a killed round resumes like any sweep."""
from __future__ import annotations

import math
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ablate.config.naming import override_key
from ablate.job.ownership import MARKER
from ablate.record.files import COMPLETED
from ablate.record.sweep import launch_files
from ablate.report import tables
from ablate.report.build import Report
from ablate.resolve.looks import Comparison


def comparisons_of(report: Report) -> list[Comparison]:
    """The report's comparisons: the ladder's steps, else each configuration against the baseline; and each
    2x2's interaction contrast. Named by the full configurations, so a name stays the same across looks."""
    configs = list(report.summary.config) if len(report.summary) else []
    if len(report.ladder) > 1:
        out = [Comparison(f"{a} -> {b}", "ladder step", (a, b), (-1.0, 1.0))
               for a, b in zip(report.ladder[:-1], report.ladder[1:])]
    else:
        out = [Comparison(f"{c} vs {report.baseline}", "vs baseline", (report.baseline, c), (-1.0, 1.0))
               for c in configs if c != report.baseline]
    for f, g, fl, gl, shared, cells in tables.two_by_twos(configs, tables.factors(configs)):
        at = " ".join(f"{k}={v}" for k, v in sorted(shared.items()))
        out.append(Comparison(f"{f} x {g} ({fl} x {gl}{', at ' + at if at else ''})", "interaction",
                              tuple(cells), tuple(float(w) for w in tables.WEIGHTS_2X2)))
    return out


def check_readable(sweep: Path) -> None:
    """A folder resolve cannot look at is named with the fix before any look: one run's folder, a folder
    without records."""
    if (sweep / "results.json").is_file() or (sweep / MARKER).exists():
        raise ValueError(f"{sweep} is one run's folder, not a sweep: resolve adds seeds to a sweep's configurations; "
                         f"start one with `python -m ablate -m KEY=A,B seed=0,1 hydra.sweep.dir=DIR` and pass DIR")
    if not any(sweep.glob("*/results.json")):
        raise ValueError(f"{sweep} holds no run records (no */results.json): pass the sweep folder "
                         f"(hydra.sweep.dir) whose job folders hold them")


def check_launchable(sweep: Path) -> None:
    """Rounds run with the sweep's own launcher, which its multirun.yaml names."""
    if not launch_files(sweep):
        raise ValueError(f"{sweep} has no multirun.yaml: resolve launches each round with the sweep's own launcher, "
                         f"which that file names; restore it, or run resolve with --dry-run and launch the "
                         f"commands it prints yourself")


def values_of(runs: pd.DataFrame) -> dict[str, np.ndarray]:
    done = runs[runs.status == COMPLETED]
    return {c: g.test_acc.to_numpy(dtype=float) for c, g in done.groupby("config", sort=False)}


def run_seconds(runs: pd.DataFrame) -> float:
    """The median completed run's wall time (its training time where a record lacks one)."""
    done = runs[runs.status == COMPLETED]
    walls = [r.get("wall_seconds") if isinstance(r, dict) else None for r in done.get("_record", [])]
    walls = [float(w) for w in walls if isinstance(w, (int, float)) and math.isfinite(w)]
    if not walls:
        walls = [float(t) for t in done.train_seconds if math.isfinite(t)]
    return statistics.median(walls) if walls else math.nan


def next_seeds(runs: pd.DataFrame, config: str, count: int) -> list[int]:
    """The lowest seeds the configuration has no completed run of (a failed or killed one is run again)."""
    have = set(runs[(runs.config == config) & (runs.status == COMPLETED)].seed.dropna().astype(int))
    out, s = [], 0
    while len(out) < count:
        if s not in have:
            out.append(s)
        s += 1
    return out


def _launcher_overrides(sweep: Path) -> list[str]:
    """The Hydra overrides of the sweep's last launch (its launcher, say), less its folder and mode."""
    from omegaconf import OmegaConf

    files = launch_files(sweep)
    if not files:
        return []
    hydra = OmegaConf.select(OmegaConf.load(files[0]), "hydra.overrides.hydra") or []   # multirun.yaml: the last
    return [o for o in hydra if not o.startswith(("hydra.sweep.dir=", "hydra.mode="))]


def round_commands(runs: pd.DataFrame, adds: dict[str, int]) -> list[list[str]]:
    """One `python -m ablate -m` per configuration that gets seeds: a completed run's own overrides with the
    new seeds, and the folder that run is in with that folder's launcher overrides (with several sweep folders,
    each configuration grows where its runs are)."""
    commands = []
    for config, count in adds.items():
        runs_of = runs[runs.config == config].sort_values("status", key=lambda s: s != COMPLETED, kind="stable")
        overrides = [o for o in str(runs_of.overrides.iloc[0]).split(" ")
                     if o and override_key(o) != "seed"]
        sweep = Path(runs_of.sweep.iloc[0])
        seeds = ",".join(str(s) for s in next_seeds(runs, config, count))
        commands.append([sys.executable, "-m", "ablate", "-m", *overrides, f"seed={seeds}",
                         *_launcher_overrides(sweep), f"hydra.sweep.dir={sweep}"])
    return commands


def launch(commands: list[list[str]]) -> list[int]:
    """Run each command in turn (their jobs run as the sweep's launcher runs them); their exit statuses."""
    return [subprocess.run(c).returncode for c in commands]
