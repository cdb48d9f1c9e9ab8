"""`python -m ablate.status SWEEP_DIR [SWEEP_DIR ...]`: where a sweep stands, from the files on disk.

One line per job: configuration, seed, status (completed, failed, interrupted, running, stopped, missing; an
interrupted or stopped job with a checkpoint is marked resumable),
epochs reached of the total, last val accuracy, seconds per epoch and, for a running job, its ETA. Works while
the sweep runs or after it, on any launcher's sweep folder (basic, joblib, submitit/SLURM).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import pandas as pd

from ablate.job.checkpoint import CHECKPOINT
from ablate.job.ownership import JobLock
from ablate.job.progress import finish_clock, typical_epoch_seconds
from ablate.record.files import read_history
from ablate.record.sweep import load_runs

RUNNING_WITHIN = 3.0   # a job whose history changed within this many epoch-times is running


def _history(job: Path) -> list[dict]:
    rows, problem = read_history(job)
    if problem:
        print(f"note: {problem}", file=sys.stderr)
    return rows


def _total_epochs(job: Path, record: dict | None) -> int | None:
    cfg = (record or {}).get("config")
    if not cfg and (job / ".hydra" / "config.yaml").is_file():
        from omegaconf import OmegaConf
        try:
            cfg = OmegaConf.to_container(OmegaConf.load(job / ".hydra" / "config.yaml"))
        except Exception:  # noqa: BLE001 - an unreadable config only hides the job's epoch total
            print(f"note: {job / '.hydra' / 'config.yaml'} cannot be read: its epoch total shows '?'", file=sys.stderr)
            cfg = None
    epochs = ((cfg if isinstance(cfg, dict) else {}).get("trainer") or {}).get("epochs")
    ok = isinstance(epochs, (int, float)) and not isinstance(epochs, bool) and epochs > 0
    return math.ceil(epochs) if ok else None      # trainer.epochs=9.9 runs 10 epochs (the last one partly)


def _seconds_per_epoch(history: list[dict]) -> float | None:
    """The typical epoch time, leaving out epochs stretched by a pause or a warm-up (`typical_epoch_seconds`)."""
    return typical_epoch_seconds([r["epoch_seconds"] for r in history if r.get("epoch_seconds")])


def _runs(job: Path, status: str, history: list[dict], per_epoch: float | None, now: float) -> bool:
    """Whether a job without a final record (or an interrupted one, rerun) trains now. The process holding its
    lock says so where it ran on this machine, first epoch included; elsewhere (a cluster's node), a history
    written within a few epoch-times does, and for an interrupted job only epochs written after its record
    (a rerun keeps the old record until it ends)."""
    alive = JobLock.alive_here(job)
    if alive is not None:
        return alive
    if not history or not per_epoch:
        return False
    written = (job / "history.csv").stat().st_mtime
    rerun = status == "missing" or written > (job / "results.json").stat().st_mtime
    return rerun and now - written < RUNNING_WITHIN * per_epoch


def job_status(row: dict, now: float) -> dict:
    job, record = Path(row["run_dir"]), row["_record"] if isinstance(row.get("_record"), dict) else None
    history = _history(job)
    per_epoch = _seconds_per_epoch(history)
    total = _total_epochs(job, record)
    reached = int(history[-1]["epoch"]) if history else 0
    status = row["status"]
    if total is None and status == "completed":
        total = reached                                  # a record without its config: it ran what it reached
    eta = None
    if status in ("missing", "interrupted") and _runs(job, status, history, per_epoch, now):
        status = "running"
        eta = (total - reached) * per_epoch if total and per_epoch else None
    elif status == "missing" and history:
        status = "stopped"
    if status in ("stopped", "interrupted") and (job / CHECKPOINT).exists():
        status += " (resumable)"
    val = history[-1].get("val_acc") if history else None       # a number, or None
    done_in = (record or {}).get("wall_seconds") if status == "completed" else None
    return {"config": row["config"], "seed": row["seed"], "status": status,
            "epoch": None,                                          # reached/total, once totals are borrowed
            "val_acc": f"{100 * val:.2f}" if val is not None else "-",
            "s/epoch": f"{per_epoch:.0f}" if per_epoch else "-",
            "eta": f"{finish_clock(eta, now)} ({_duration(eta)})" if eta else "-",
            "_eta_s": eta, "_job_s": done_in, "_left": 1 - reached / total if total else 1.0, "_total": total,
            "_reached": reached, "_sweep": row.get("sweep", "")}


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes} min"


def time_left(table: pd.DataFrame) -> list[str]:
    """Each sweep's remaining training time, one line per sweep folder (a job's median time in one sweep says
    nothing of another's). Jobs running at once in a sweep (a parallel launcher) run side by side: the longest
    ETA counts, not their sum. Each job still to run (missing, stopped, interrupted) counts one after another
    (the basic launcher's way) at the sweep's median completed job's wall time, the part of it not yet done
    where the epochs reached are known; so does a running job with no epoch done yet. With no completed job to
    time them by, they are counted, not guessed."""
    lines = []
    for sweep, jobs in table.groupby("_sweep", sort=False):
        line = _sweep_time_left(jobs)
        if line:
            lines.append(f"{sweep}: {line}" if table._sweep.nunique() > 1 else line)
    return lines


def _sweep_time_left(table: pd.DataFrame) -> str | None:
    done = table._job_s.dropna()
    per_job = float(done.median()) if len(done) else None
    running = table[table.status == "running"]
    waiting = table[table.status.str.split(" ").str[0].isin(["missing", "stopped", "interrupted"])]
    if running.empty and waiting.empty:
        return None
    etas = [eta if pd.notna(eta) else (per_job * left if per_job else None)
            for eta, left in zip(running._eta_s, running._left)]
    parts = [f"{len(running)} running side by side" if len(running) > 1 else "1 running"] if len(running) else []
    if len(waiting):
        parts.append(f"{len(waiting)} to run one after another"
                     + (f" at the median completed job's {_duration(per_job)} each" if per_job else ""))
    if None in etas or (len(waiting) and per_job is None):
        known = [e for e in etas if e is not None]
        return (f"at least {_duration(max(known))} of training left" if known else "not timed yet") + \
            f" ({'; '.join(parts)}; no job of this sweep has completed to time the rest by)"
    total = max(etas, default=0.0) + (per_job * float(waiting._left.sum()) if len(waiting) else 0.0)
    return f"about {_duration(total)} of training left ({'; '.join(parts)})"


def _borrow_totals(rows: list[dict]) -> list[dict]:
    """A job not yet started has no config of its own to read its epochs from: it runs what a job of the same
    configuration (another seed) runs. Then each row's `epoch` reads reached/total ('?' where none is known)."""
    known = {}
    for r in rows:
        if r["_total"]:
            known.setdefault(r["config"], r["_total"])
    for r in rows:
        if not r["_total"] and r["config"] in known:
            r["_total"] = known[r["config"]]
    for r in rows:
        r["epoch"] = f"{r['_reached']}/{r['_total'] if r['_total'] is not None else '?'}"
    return rows


def sweep_status(sweep_dirs) -> pd.DataFrame:
    runs = load_runs(sweep_dirs)
    now = time.time()
    if not len(runs):
        return pd.DataFrame()
    return pd.DataFrame(_borrow_totals([job_status(r, now) for r in runs.to_dict("records")]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m ablate.status", description=__doc__.splitlines()[0])
    p.add_argument("sweep_dirs", nargs="+")
    p.add_argument("--hide-completed", action="store_true",
                   help="list only the jobs not completed (the counts and time left still cover every job)")
    args = p.parse_args(argv)
    try:
        table = sweep_status(args.sweep_dirs)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if table.empty:
        print("no jobs found")
        return 0
    left = time_left(table)
    shown = table[table.status != "completed"] if args.hide_completed else table
    if len(shown):
        print(shown.drop(columns=[c for c in table.columns if c.startswith("_")]).to_string(index=False))
    else:
        print("every job is completed")
    counts = table.status.str.split(" ").str[0].value_counts()
    print("\n" + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for line in left:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
