"""Where a job runs when several run at once: its GPU, or its share of the CPU cores."""
from __future__ import annotations

import os

import torch


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def concurrent_jobs(launcher: dict) -> int:
    """How many jobs the launcher runs side by side on this machine (1 for the basic launcher)."""
    name = launcher.get("name") or "basic"
    if name == "joblib":
        n = int(launcher.get("n_jobs") or 1)
        return available_cores() if n < 0 else max(n, 1)
    return 1


def place(device: str, job_num: int | None, launcher: dict) -> tuple[str, int | None]:
    """(device, CPU threads or None for torch's default).

    With trainer.device=auto and several GPUs, job k takes cuda:(k mod GPU count); a device named in the
    config is kept. Jobs run side by side on the CPU split its cores instead of oversubscribing them;
    a SLURM / submitit job uses the cores it was given (cpus_per_task).
    """
    n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "auto" and n_gpus > 1 and job_num is not None:
        device = f"cuda:{job_num % n_gpus}"
    threads = None
    if launcher.get("cpus_per_task"):
        threads = int(launcher["cpus_per_task"])
    else:
        parallel = concurrent_jobs(launcher)
        if parallel > 1:
            threads = max(1, available_cores() // parallel)
    return device, threads
