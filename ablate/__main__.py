"""`python -m ablate [-m] key=value ...`: the Hydra entry point, and nothing else."""
from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "conf")
OUTCOMES: list[str] = []   # statuses of the jobs this process ran (the basic launcher runs them here)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def task(cfg: DictConfig) -> str:
    from ablate.job.run import run_job

    hc = HydraConfig.get()
    choices = {k: v for k, v in hc.runtime.choices.items() if not k.startswith("hydra")}
    label = hc.job.override_dirname or "run"
    launcher = {"name": hc.runtime.choices.get("hydra/launcher"), **{
        k: hc.launcher.get(k) for k in ("n_jobs", "cpus_per_task") if k in hc.launcher}}
    sweep_dir = hc.sweep.dir if hc.mode == RunMode.MULTIRUN else None
    status = run_job(cfg, hc.runtime.output_dir, list(hc.overrides.task), choices, label,
                     job_num=hc.job.get("num"), launcher=launcher, sweep_dir=sweep_dir)
    OUTCOMES.append(status)
    return status


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    # One stamp per command, inherited by launcher workers: sweeps started in the same second get
    # different folders, and every job of one sweep agrees on its folder.
    os.environ.setdefault("ABLATE_STAMP", time.strftime("%Y-%m-%d/%H-%M-%S") + f"_{os.getpid()}{secrets.token_hex(2)}")
    if not Path(CONFIG_DIR).is_dir():
        sys.exit(f"error: the config folder {CONFIG_DIR} is missing: install ablate from a checkout "
                 f"with `pip install -e .`")
    from ablate.config.outdirs import check_output_dirs

    problem = check_output_dirs(sys.argv[1:], Path.cwd())
    if problem:
        sys.exit(f"error: {problem}")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        task()
    except KeyboardInterrupt:
        print("interrupted: completed records are kept; run the same command again to finish the rest",
              file=sys.stderr)
        sys.exit(130)
    from ablate import sweep_end

    failed = sweep_end.LAST_SWEEP.get("failed") or (not sweep_end.LAST_SWEEP and "failed" in OUTCOMES)
    if failed or "refused" in OUTCOMES:      # refused: a job whose folder is another's did not start
        sys.exit(1)


if __name__ == "__main__":
    main()
