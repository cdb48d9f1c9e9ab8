"""`python -m ablate.bench.sweep_throughput`: runs per hour with 1, 2, 4 jobs at once on one machine.

Each setting runs the same real sweep (`python -m ablate -m ...`, seeds 0..R-1) into its own temporary
folder, with the joblib launcher for more than one job at a time, and times it wall to wall.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ablate.bench.common import save
from ablate.record.provenance import environment


def sweep_seconds(jobs: int, runs: int, overrides: list[str], workdir: Path) -> float:
    launcher = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"] if jobs > 1 else []
    cmd = [sys.executable, "-m", "ablate", "-m", *launcher, *overrides, f"seed=range(0,{runs})",
           "trainer.progress=none", f"hydra.sweep.dir={workdir / f'jobs{jobs}'}"]
    env = {k: v for k, v in os.environ.items() if k != "ABLATE_STAMP"}
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise SystemExit(f"the sweep with {jobs} job(s) at once failed:\n{res.stdout[-3000:]}{res.stderr[-3000:]}")
    return time.perf_counter() - t


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m ablate.bench.sweep_throughput", description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--runs", type=int, default=4, help="runs per sweep (seeds)")
    p.add_argument("overrides", nargs="*", default=["data=synthetic", "model=small_cnn", "trainer.epochs=2"],
                   help="config overrides for every run (default: a small synthetic run)")
    p.add_argument("--out")
    args = p.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.jobs:
            s = sweep_seconds(k, args.runs, args.overrides, Path(tmp))
            rows[k] = {"seconds": s, "runs_per_hour": args.runs / s * 3600}
    env = environment("cuda" if _cuda() else "cpu")
    print(f"device: {env['device_name']}, torch {env['torch']}, {args.runs} runs of: {' '.join(args.overrides)}")
    base = rows[args.jobs[0]]["runs_per_hour"]
    for k, r in rows.items():
        r["ratio"] = r["runs_per_hour"] / base
        print(f"{k} job(s) at once: {r['seconds']:8.1f} s  {r['runs_per_hour']:10.1f} runs/hour  x{r['ratio']:.2f}")
    result = {"jobs": rows, "runs": args.runs, "overrides": args.overrides, "env": env}
    save(args.out, result)
    return result


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
