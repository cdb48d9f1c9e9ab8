"""Where a job runs when several run at once: its GPU (leased for the job's duration), or its share of the cores."""
from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

import torch

log = logging.getLogger("ablate")
LEASES = ".gpu_leases"    # in the sweep folder: one lock file per GPU, held by the job training on it


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


class GpuLease:
    """A free GPU for one job: the first of `count` lock files in `folder` that no other process holds (an
    exclusive flock, released when the job ends or its process dies, so a GPU never stays taken by a dead job).
    With every GPU taken (more workers than GPUs), the job shares cuda:(job_num mod count) and says so."""

    def __init__(self, folder: Path, count: int, job_num: int | None = None):
        self.index, self._file = None, None
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(count):
            f = open(folder / f"gpu{k}.lock", "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            self.index, self._file = k, f
            return
        self.index = (job_num or 0) % count
        log.warning("every GPU of %d is leased by another job of this sweep: this one shares cuda:%d (launch at "
                    "most %d jobs at once)", count, self.index, count)

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def gpu_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def place(device: str, job_num: int | None, launcher: dict, sweep_dir: Path | None = None,
          n_gpus: int | None = None) -> tuple[str, int | None, GpuLease | None]:
    """(device, CPU threads or None for torch's default, the GPU lease to release when the job ends).

    With trainer.device=auto and several GPUs, a job of a sweep takes a GPU no other job of it holds; a device
    named in the config is kept. Jobs run side by side on the CPU split its cores instead of oversubscribing
    them; a SLURM / submitit job uses the cores it was given (cpus_per_task).
    """
    n_gpus = gpu_count() if n_gpus is None else n_gpus
    lease = None
    if device == "auto" and n_gpus > 1 and sweep_dir is not None:
        lease = GpuLease(Path(sweep_dir) / LEASES, n_gpus, job_num)
        device = f"cuda:{lease.index}"
    threads = None
    if launcher.get("cpus_per_task"):
        threads = int(launcher["cpus_per_task"])
    else:
        parallel = concurrent_jobs(launcher)
        if parallel > 1:
            threads = max(1, available_cores() // parallel)
    return device, threads, lease
