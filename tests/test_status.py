"""`python -m ablate.status`: a sweep's jobs as they stand on disk."""
from __future__ import annotations

import json
import os
import time

from ablate.record.synthetic import write_run
from ablate.status import main, sweep_status

HISTORY = "epoch,lr,train_loss,train_acc,epoch_seconds,images_per_second,val_loss,val_acc\n"


def started(job, seed, epochs_done=0, age=0.0, checkpoint=False, total=10):
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(f"- aug=none\n- seed={seed}\n")
    (job / ".hydra" / "config.yaml").write_text(f"trainer:\n  epochs: {total}\nseed: {seed}\n")
    if epochs_done:
        rows = "".join(f"{e},0.1,1.0,0.5,60.0,750,1.0,0.{40 + e}\n" for e in range(1, epochs_done + 1))
        (job / "history.csv").write_text(HISTORY + rows)
        old = time.time() - age
        os.utime(job / "history.csv", (old, old))
    if checkpoint:
        (job / "checkpoint.pt").write_bytes(b"x")


def test_status_of_completed_failed_interrupted_running_stopped_and_missing_jobs(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    write_run(sweep / "aug=none,seed=0", ["aug=none"], 0, 0.7, epochs=3)
    write_run(sweep / "aug=none,seed=1", ["aug=none"], 1, 0, status="failed")
    write_run(sweep / "aug=none,seed=2", ["aug=none"], 2, 0, status="interrupted")
    started(sweep / "aug=none,seed=3", 3, epochs_done=4, age=5)                       # running
    started(sweep / "aug=none,seed=4", 4, epochs_done=2, age=3600, checkpoint=True)   # stopped, resumable
    started(sweep / "aug=none,seed=5", 5)                                              # started, no epoch yet
    table = sweep_status(sweep).set_index("seed")
    assert table.status.to_dict() == {0: "completed", 1: "failed", 2: "interrupted", 3: "running",
                                      4: "stopped (resumable)", 5: "missing"}
    assert table.loc[3, "epoch"] == "4/10" and table.loc[3, "val_acc"] == "44.00" and "min" in table.loc[3, "eta"]
    assert table.loc[0, "epoch"] == "3/3"            # its record names no total: a completed run ran them all
    assert table.loc[5, "epoch"] == "0/10"
    assert main([str(sweep)]) == 0
    out = capsys.readouterr().out
    assert "1 running" in out and "1 completed" in out and "1 stopped" in out
    assert "_eta_s" not in out and "_job_s" not in out
    assert main([str(sweep), "--hide-completed"]) == 0
    out = capsys.readouterr().out
    assert " completed " not in out.split("\n\n")[0] and "stopped (resumable)" in out and "1 completed" in out
    assert main([str(tmp_path / "nowhere")]) == 2


def test_an_interrupted_job_that_a_rerun_resumed_is_running_and_one_with_a_checkpoint_is_resumable(tmp_path):
    sweep = tmp_path / "sweep"
    for seed in (0, 1, 2):
        write_run(sweep / f"aug=none,seed={seed}", ["aug=none"], seed, 0, status="interrupted")
        record = sweep / f"aug=none,seed={seed}" / "results.json"
        record.write_text(json.dumps({**json.loads(record.read_text()), "config": {"trainer": {"epochs": 10}}}))
        old = time.time() - 600
        os.utime(record, (old, old))
        (record.parent / "checkpoint.pt").write_bytes(b"x")
    # seed 0: resumed, epochs written since the record; seed 1: epochs written before it (the interrupted run's);
    # seed 2: no history at all
    for seed, age in ((0, 5), (1, 900)):
        rows = "".join(f"{e},0.1,1.0,0.5,60.0,750,1.0,0.{40 + e}\n" for e in range(1, 5))
        (sweep / f"aug=none,seed={seed}" / "history.csv").write_text(HISTORY + rows)
        t = time.time() - age
        os.utime(sweep / f"aug=none,seed={seed}" / "history.csv", (t, t))
    table = sweep_status(sweep).set_index("seed")
    assert table.status.to_dict() == {0: "running", 1: "interrupted (resumable)", 2: "interrupted (resumable)"}
    assert "min" in table.loc[0, "eta"] and table.loc[1, "eta"] == "-"
    assert table.loc[0, "epoch"] == "4/10" and table.loc[1, "epoch"] == "4/10"


def test_a_job_not_yet_started_shows_the_epochs_its_configuration_runs(tmp_path):
    from omegaconf import OmegaConf
    sweep = tmp_path / "sweep"
    OmegaConf.save(OmegaConf.create({"hydra": {"overrides": {"task": ["aug=none", "seed=3,6"]},
                                               "job": {"config": {"override_dirname": {"exclude_keys": []}}}}}),
                   sweep.mkdir() or sweep / "multirun.yaml")
    started(sweep / "aug=none,seed=3", 3, epochs_done=4, age=5, total=100)
    table = sweep_status(sweep).set_index("seed")
    assert table.loc[6, "status"] == "missing" and table.loc[6, "epoch"] == "0/100"
    assert table.loc[3, "epoch"] == "4/100"


def test_time_left_in_a_sweep_adds_running_etas_and_waiting_jobs_at_the_median_completed_time(tmp_path, capsys):
    import json
    sweep = tmp_path / "sweep"
    for seed, wall in enumerate([3000.0, 3600.0, 4000.0]):
        write_run(sweep / f"aug=none,seed={seed}", ["aug=none"], seed, 0.7)
        rec = json.loads((sweep / f"aug=none,seed={seed}" / "results.json").read_text())
        (sweep / f"aug=none,seed={seed}" / "results.json").write_text(json.dumps({**rec, "wall_seconds": wall}))
    started(sweep / "aug=none,seed=3", 3, epochs_done=4, age=5)                         # 6 x 60 s left
    started(sweep / "aug=none,seed=4", 4, epochs_done=5, age=3600, checkpoint=True)     # half of one job left
    started(sweep / "aug=none,seed=5", 5)                                                # all of one job
    assert main([str(sweep)]) == 0
    out = capsys.readouterr().out
    # 360 s + 1.5 x 3600 s = 5760 s = 96 min
    assert "about 1h36m of training left (1 running; 2 to run one after another at the median completed job's " \
           "1h00m each)" in out
    assert main([str(tmp_path / "nowhere")]) == 2


def test_time_left_takes_jobs_running_side_by_side_at_the_longest_and_each_sweep_by_its_own_jobs(tmp_path, capsys):
    import json
    fast, slow, fresh = tmp_path / "fast", tmp_path / "slow", tmp_path / "fresh"
    write_run(fast / "aug=none,seed=0", ["aug=none"], 0, 0.7)
    rec = json.loads((fast / "aug=none,seed=0" / "results.json").read_text())
    (fast / "aug=none,seed=0" / "results.json").write_text(json.dumps({**rec, "wall_seconds": 600.0}))
    started(fast / "aug=none,seed=1", 1, epochs_done=4, age=5)             # 6 x 60 s left
    started(fast / "aug=none,seed=2", 2, epochs_done=8, age=5)             # 2 x 60 s left, beside it
    started(fast / "aug=none,seed=3", 3)                                    # one job at 10 min
    started(slow / "aug=none,seed=0", 0, epochs_done=1, age=5, total=100)  # 99 x 60 s left
    started(fresh / "aug=none,seed=0", 0)                                   # nothing to time it by
    assert main([str(fast), str(slow), str(fresh)]) == 0
    out = capsys.readouterr().out
    # 6 min (the longer of the two running) + 10 min, not 6 + 2 + 10 min, nor timed by the slow sweep's job
    assert f"{fast}: about 16 min of training left (2 running side by side; 1 to run one after another" in out
    assert f"{slow}: about 1h39m of training left (1 running)" in out
    assert f"{fresh}: not timed yet (1 to run one after another; no job of this sweep has completed" in out


def test_a_runs_eta_leaves_out_stalled_epochs(monkeypatch, caplog):
    import logging
    from ablate.job import progress

    clock = iter([0.0, 10.0, 20.0, 1000.0, 1990.0])     # epochs 3 and 4 stalled (a suspended machine), 980 s each
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    p = progress.Progress(10, "job", "log")
    row = {"train_loss": 1.0, "train_acc": 0.5, "val_acc": 0.5, "lr": 0.1, "images_per_second": 100.0}
    with caplog.at_level(logging.INFO, logger="ablate"):
        for epoch in range(1, 5):
            p({**row, "epoch": epoch})
    assert "eta 1m00s" in caplog.records[-1].getMessage()          # 10 s x 6 epochs left, not 495 s x 6
    assert "done in about 1m30s" in caplog.text                      # after the first epoch: 10 s x 9


def test_a_first_epoch_that_spanned_a_pause_does_not_set_the_first_eta(monkeypatch, caplog):
    import logging
    from ablate.job import progress

    clock = iter([0.0, 1600.0])          # epoch 1: 100 s of work and 1,500 s stopped (paused for a CI run)
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    p = progress.Progress(10, "job", "log")
    row = {"train_loss": 1.0, "train_acc": 0.5, "val_acc": 0.5, "lr": 0.1, "images_per_second": 100.0}
    with caplog.at_level(logging.INFO, logger="ablate"):
        p({**row, "epoch": 1, "stopped_seconds": 1500.0})
    assert "1m40s per epoch" in caplog.text and "done in about 15m00s" in caplog.text


def test_seconds_per_epoch_leaves_out_epochs_stretched_by_pauses_however_many(tmp_path):
    sweep = tmp_path / "sweep"
    started(sweep / "aug=none,seed=0", 0, epochs_done=4, age=5)
    history = sweep / "aug=none,seed=0" / "history.csv"
    rows = history.read_text().splitlines()
    rows[3] = rows[3].replace(",60.0,", ",580.0,")          # epochs 3 and 4 each spanned a ~10 min pause
    rows[4] = rows[4].replace(",60.0,", ",610.0,")          # (SIGSTOP for a CI run): half the epochs so far
    rows[1] = rows[1].replace(",60.0,", ",65.0,")           # jitter stays in the median
    history.write_text("\n".join(rows) + "\n")
    row = sweep_status(sweep).iloc[0]
    assert row["s/epoch"] == "62" and row.status == "running"
    assert row["eta"].endswith("(6 min)")                    # 6 epochs x 62.5 s, not x 345 s (the plain median)


def test_typical_epoch_seconds_drops_a_warm_up_epoch_and_keeps_ordinary_spread():
    from ablate.job.progress import typical_epoch_seconds
    assert typical_epoch_seconds([]) is None
    assert typical_epoch_seconds([300.0, 40.0, 41.0, 39.0]) == 40.0    # compile warm-up: 7x the fastest
    assert typical_epoch_seconds([50.0, 40.0, 70.0]) == 50.0           # within 2x: kept


def test_an_eta_past_today_names_its_day():
    from ablate.job import progress
    noon = time.mktime((2026, 12, 7, 12, 0, 0, 0, 0, -1))            # local time, whatever the zone
    assert progress.finish_clock(25 * 60, noon) == "12:25"
    assert progress.finish_clock(48 * 3600 + 24 * 60, noon) == "Wed 09 Dec 12:24"   # not "12:24", as if today
    assert progress.finish_clock(13 * 3600, noon) == "Tue 08 Dec 01:00"


def test_the_process_holding_a_jobs_lock_says_whether_it_runs_first_epoch_included(tmp_path, capsys):
    import socket
    import subprocess
    import sys
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    sweep = tmp_path / "sweep"
    write_run(sweep / "aug=none,seed=0", ["aug=none"], 0, 0.7)
    rec = json.loads((sweep / "aug=none,seed=0" / "results.json").read_text())
    (sweep / "aug=none,seed=0" / "results.json").write_text(json.dumps({**rec, "wall_seconds": 600.0}))
    started(sweep / "aug=none,seed=1", 1)                                   # its first epoch, no history yet
    started(sweep / "aug=none,seed=2", 2, epochs_done=4, age=5)             # killed a moment ago
    started(sweep / "aug=none,seed=3", 3, epochs_done=4, age=5)             # another host's: its history says
    host = socket.gethostname()
    for seed, holder in ((1, f"process {os.getpid()} on {host}"), (2, f"process {gone.pid} on {host}"),
                         (3, f"process {gone.pid} on not-{host}")):
        (sweep / f"aug=none,seed={seed}" / ".ablate-lock").write_text(holder + "\n")
    table = sweep_status(sweep).set_index("seed")
    assert table.status.to_dict() == {0: "completed", 1: "running", 2: "stopped", 3: "running"}
    assert table.loc[1, "epoch"] == "0/10" and table.loc[1, "eta"] == "-"
    assert main([str(sweep)]) == 0
    # seed 1, in its first epoch, counts as a whole job at the median (10 min), beside seed 3 (6 x 60 s left);
    # then seed 2, stopped at 4 of 10 epochs: 6 min
    assert "about 16 min of training left (2 running side by side; 1 to run one after another at the median " \
           "completed job's 10 min each)" in capsys.readouterr().out
