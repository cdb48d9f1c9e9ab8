"""Launchers (joblib, submitit_local), interruption (SIGINT, SIGTERM, SIGKILL) and resume by rerun."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ablate.job.placement import place
from ablate.report import build
from conftest import TINY

SLOW_JOBS = [*TINY, "trainer.epochs=4", "data.num_train=1500", "data.val_size=100", "seed=0,1,2,3"]


def records(sweep):
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.rglob("results.json")}


@pytest.mark.parametrize("launcher", [["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                                      ["hydra/launcher=submitit_local"]], ids=["joblib", "submitit_local"])
def test_two_job_sweep_completes_under_a_launcher_plugin(ablate_cli, tmp_path, launcher):
    sweep = tmp_path / "sweep"
    res = ablate_cli(["-m", *launcher, *TINY, "trainer.epochs=1", "seed=0,1", f"hydra.sweep.dir={sweep}"],
                     cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    recs = records(sweep)
    assert sorted(r["seed"] for r in recs.values()) == [0, 1]
    assert all(r["status"] == "completed" for r in recs.values())
    if "hydra.launcher.n_jobs=2" in launcher:
        # two jobs side by side on the CPU share its cores instead of each taking all of them
        cores = len(os.sched_getaffinity(0))
        assert all(r["placement"]["threads"] == max(1, cores // 2) for r in recs.values())


def start_sweep(tmp_path, sweep):
    env = {k: v for k, v in os.environ.items() if k != "ABLATE_STAMP"}
    args = [sys.executable, "-m", "ablate", "-m", *SLOW_JOBS, f"hydra.sweep.dir={sweep}"]
    return subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True), args


def wait_for_first_record(proc, sweep, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [p for p in sweep.rglob("results.json") if json.loads(p.read_text())["status"] == "completed"]
        if done:
            return done[0]
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.2)
    raise AssertionError("no record appeared")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["KILL", "INT", "TERM"])
def test_killed_sweep_loses_nothing_and_a_rerun_finishes_it(ablate_cli, tmp_path, sig):
    sweep = tmp_path / "sweep"
    proc, args = start_sweep(tmp_path, sweep)
    first = wait_for_first_record(proc, sweep)
    first_bytes = first.read_bytes()
    time.sleep(0.5)                      # into the second job
    os.kill(proc.pid, sig)
    proc.wait(timeout=120)
    out = proc.stdout.read().decode()
    assert proc.returncode != 0
    if sig != signal.SIGKILL:
        assert "run the same command again" in out
    # every record on disk is whole JSON; the job in flight is marked interrupted or has none
    recs = records(sweep)
    assert all(r["status"] in ("completed", "interrupted") for r in recs.values()), recs
    if sig != signal.SIGKILL:                 # SIGKILL mid-write can leave a temp file: the rerun removes it
        assert not list(sweep.rglob(".*.tmp"))
    if sig != signal.SIGKILL:
        interrupted = [r for r in recs.values() if r["status"] == "interrupted"]
        assert interrupted and all(isinstance(r["epochs_completed"], int) for r in interrupted)
        assert "run the same command again to resume" in interrupted[0]["error"]
    # the report reads a killed sweep: what is complete, and the rest listed as missing
    report = build(sweep)
    assert (report.runs.status == "completed").sum() == sum(r["status"] == "completed" for r in recs.values())
    assert len(report.runs) == 4
    # run the same command again: only what is missing runs
    rerun = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                           env={k: v for k, v in os.environ.items() if k != "ABLATE_STAMP"})
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    recs = records(sweep)
    assert len(recs) == 4 and all(r["status"] == "completed" for r in recs.values())
    assert first.read_bytes() == first_bytes
    assert rerun.stdout.count("skip ") >= 1
    assert not list(sweep.rglob(".*.tmp"))


def test_placement_on_cpu_splits_the_cores(monkeypatch):
    monkeypatch.setattr("ablate.job.placement.available_cores", lambda: 8)
    assert place("auto", 3, {"name": "joblib", "n_jobs": 4})[:2] == ("auto", 2)
    assert place("auto", 3, {"name": "joblib", "n_jobs": 16})[:2] == ("auto", 1)
    assert place("cpu", 0, {"name": "basic"})[:2] == ("cpu", None)
    assert place("auto", 0, {"name": "submitit_slurm", "cpus_per_task": 6})[:2] == ("auto", 6)


def test_each_job_leases_a_free_gpu_not_job_number_mod_count(tmp_path):
    """Jobs take the GPUs no other job holds: job 4 starting while jobs 0 and 2 still train gets a free GPU,
    where job_num % 4 would have put it beside job 0. A released (or dead) job's GPU is free again."""
    launcher = {"name": "joblib", "n_jobs": 4}
    held = [place("auto", k, launcher, tmp_path, n_gpus=4) for k in range(4)]
    assert [d for d, _, _ in held] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    for k in (1, 3):                                 # jobs 1 and 3 end first
        held[k][2].release()
    fourth = place("auto", 4, launcher, tmp_path, n_gpus=4)
    assert fourth[0] == "cuda:1"                     # job 4 % 4 = 0 is still busy
    fifth = place("auto", 5, launcher, tmp_path, n_gpus=4)
    assert fifth[0] == "cuda:3"
    crowded = place("auto", 6, launcher, tmp_path, n_gpus=4)      # all four taken: shares one, with a warning
    assert crowded[0] == "cuda:2" and crowded[2]._file is None
    assert place("cuda:2", 5, launcher, tmp_path, n_gpus=4)[0] == "cuda:2"   # told otherwise
    assert place("auto", 0, launcher, None, n_gpus=4)[0] == "auto"          # a single run: the current GPU
    code = ("import sys; from pathlib import Path; from ablate.job.placement import place; "
            "print(place('auto', 9, {}, Path(sys.argv[1]), n_gpus=4)[0])")
    for _, _, lease in held[1:] + [fourth, fifth]:
        lease.release()                              # job 0 still holds cuda:0
    other = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert other.stdout.strip() == "cuda:1", other.stderr        # another process sees the same leases
