"""Long runs survive: checkpoints every epoch, exact resume after SIGKILL, refusal of another config's
checkpoint, survival of a corrupt one, requeue across time limits, saved weights and model.init_from."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ablate.core import OptimSettings, ScheduleSettings, TrainSettings, train
from ablate.data import make_splits
from ablate.data.augment import BatchAugment
from ablate.data.synthetic import load_synthetic
from ablate.errors import ModelError
from ablate.models import build_model
from ablate.models.weights import load_initial_weights
from ablate.job.run import run_job
from conftest import TINY

EXACT = [*TINY, "trainer.deterministic=true", "aug=cropflip", "schedule=cosine", "data.num_train=1200",
         "data.val_size=100", "data.num_test=200"]
COMPARED = ("test_acc", "test_acc_tta", "test_nll", "val_acc", "train_acc", "per_class_acc")


def strip_timing(history):
    return [{k: v for k, v in r.items() if k not in ("epoch_seconds", "images_per_second")} for r in history]


def tiny_train(epochs=4, resume=None, on_epoch=None):
    torch.manual_seed(0)
    splits = make_splits(load_synthetic(num_train=600, num_test=200, noise=1.0), 100, None, 0)
    model = build_model("small_cnn", 10, widths=[8, 16, 16, 32])
    s = TrainSettings(epochs=epochs, batch_size=64, device="cpu", seed=0, optim=OptimSettings(lr=0.05, momentum=0.9),
                      schedule=ScheduleSettings(name="cosine"))
    aug = BatchAugment([{"op": "crop", "padding": 4}, {"op": "flip"}])
    return train(model, splits, s, aug, on_epoch, resume=resume)


def test_state_dict_after_epoch_2_resumes_to_the_same_numbers():
    saved = {}

    def stop_after_2(row, state):
        if state.epoch == 2:
            buf = io.BytesIO()
            torch.save(state.state_dict(), buf)      # through bytes, as a checkpoint file would be
            saved["state"] = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
            raise KeyboardInterrupt

    whole = tiny_train()
    with pytest.raises(KeyboardInterrupt):
        tiny_train(on_epoch=stop_after_2)
    torch.manual_seed(123)                             # the global RNG comes from the checkpoint, not from here
    resumed = tiny_train(resume=saved["state"])
    assert strip_timing(resumed.history) == strip_timing(whole.history)
    assert resumed.metrics == whole.metrics and resumed.confusion_matrix == whole.confusion_matrix


def popen(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "ABLATE_STAMP"}
    return subprocess.Popen([sys.executable, "-m", "ablate", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def kill_after_epoch(proc, history, epoch, timeout=300):
    """SIGKILL the process once `history` has `epoch` rows (the checkpoint is written before the row is read)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if history.exists() and len(history.read_text().strip().splitlines()) - 1 >= epoch:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            return
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.05)
    raise AssertionError(f"epoch {epoch} never ended")


def records_of(folder):
    return {p.parent.name: json.loads(p.read_text()) for p in folder.rglob("results.json")}


def test_sigkill_after_epoch_3_then_rerun_ends_as_if_never_stopped(ablate_cli, tmp_path):
    args = [*EXACT, "trainer.epochs=6"]
    ref = ablate_cli([*args, f"hydra.run.dir={tmp_path / 'ref'}"], cwd=tmp_path)
    assert ref.returncode == 0, ref.stdout + ref.stderr
    run_dir = tmp_path / "run"
    proc = popen([*args, f"hydra.run.dir={run_dir}"], tmp_path)
    kill_after_epoch(proc, run_dir / "history.csv", 3)
    assert not (run_dir / "results.json").exists()
    again = ablate_cli([*args, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "from epoch 3" in again.stdout or "from epoch 4" in again.stdout   # the kill can land after epoch 4's row
    rec, want = records_of(run_dir)["run"], records_of(tmp_path / "ref")["ref"]
    assert rec["status"] == "completed" and rec["resumed_from_epochs"] in ([3], [4])
    assert {k: rec["metrics"][k] for k in COMPARED} == {k: want["metrics"][k] for k in COMPARED}
    assert rec["confusion_matrix"] == want["confusion_matrix"]
    history = (run_dir / "history.csv").read_text().strip().splitlines()
    assert [int(line.split(",")[0]) for line in history[1:]] == [1, 2, 3, 4, 5, 6]
    assert not (run_dir / "checkpoint.pt").exists() and (run_dir / "model.pt").exists()


def test_two_job_sweep_killed_in_its_second_job_resumes_exactly(ablate_cli, tmp_path):
    args = ["-m", *EXACT, "trainer.epochs=4", "seed=0,1"]
    ref = ablate_cli([*args, f"hydra.sweep.dir={tmp_path / 'ref'}"], cwd=tmp_path)
    assert ref.returncode == 0, ref.stdout + ref.stderr
    sweep = tmp_path / "sweep"
    proc = popen([*args, f"hydra.sweep.dir={sweep}"], tmp_path)
    second = sweep / [p.name for p in (tmp_path / "ref").iterdir() if "seed=1" in p.name][0]
    kill_after_epoch(proc, second / "history.csv", 2)
    again = ablate_cli([*args, f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "skip " in again.stdout and "resuming " in again.stdout
    got, want = records_of(sweep), records_of(tmp_path / "ref")
    assert set(got) == set(want)
    for name in want:
        assert {k: got[name]["metrics"][k] for k in COMPARED} == {k: want[name]["metrics"][k] for k in COMPARED}


def job(make_cfg, job_dir, extra=()):
    cfg = make_cfg([*TINY, "trainer.epochs=3", *extra])
    return run_job(cfg, job_dir, list(extra), {}, "job")


def test_checkpoint_of_another_config_is_refused_and_resume_false_starts_over(make_cfg, tmp_path):
    d = tmp_path / "job"
    assert job(make_cfg, d, ["trainer.keep_checkpoint=true"]) == "completed"
    (d / "results.json").unlink()                                # as if it had stopped after its last epoch
    assert job(make_cfg, d, ["optim.lr=0.05"]) == "failed"
    rec = json.loads((d / "results.json").read_text())
    assert "another config" in rec["error"] and "optim.lr: 0.1 -> 0.05" in rec["error"]
    assert "trainer.resume=false" in rec["error"] and (d / "checkpoint.pt").exists()   # nothing lost
    assert job(make_cfg, d, ["optim.lr=0.05", "trainer.resume=false"]) == "completed"
    rec = json.loads((d / "results.json").read_text())
    assert rec["resumed_from_epochs"] == [] and rec["config"]["optim"]["lr"] == 0.05


def test_placement_keys_do_not_block_a_resume(make_cfg, tmp_path):
    d = tmp_path / "job"
    assert job(make_cfg, d, ["trainer.keep_checkpoint=true"]) == "completed"
    (d / "results.json").unlink()
    assert job(make_cfg, d, ["trainer.device=cpu", "trainer.progress=none"]) == "completed"
    assert json.loads((d / "results.json").read_text())["resumed_from_epochs"] == [3]


def test_corrupt_checkpoint_falls_back_to_the_previous_one_then_to_a_fresh_start(make_cfg, tmp_path, caplog):
    d = tmp_path / "job"
    assert job(make_cfg, d, ["trainer.keep_checkpoint=true"]) == "completed"
    (d / "results.json").unlink()
    data = (d / "checkpoint.pt").read_bytes()
    (d / "checkpoint.pt").write_bytes(data[: len(data) // 2])    # truncated, as by a full disk
    assert job(make_cfg, d, ["trainer.keep_checkpoint=true"]) == "completed"
    assert json.loads((d / "results.json").read_text())["resumed_from_epochs"] == [2]
    assert "cannot read the checkpoint" in caplog.text
    (d / "results.json").unlink()
    for name in ("checkpoint.pt", "checkpoint.prev.pt"):
        (d / name).write_bytes(b"not a checkpoint")
    assert job(make_cfg, d) == "completed"
    rec = json.loads((d / "results.json").read_text())
    assert rec["resumed_from_epochs"] == [] and len((d / "history.csv").read_text().splitlines()) == 4
    assert not (d / "checkpoint.pt").exists()                    # removed once the record is complete


def test_saved_weights_round_trip_through_init_from(make_cfg, tmp_path):
    d = tmp_path / "first"
    assert job(make_cfg, d, ["trainer.save_best=true"]) == "completed"
    assert (d / "model.pt").exists() and (d / "model_best.pt").exists()
    best = torch.load(d / "model_best.pt", weights_only=True)
    rec = json.loads((d / "results.json").read_text())
    assert best["val_acc"] == rec["metrics"]["best_val_acc"]     # chosen on validation, never on test
    model = build_model("small_cnn", 10, widths=[8, 16, 16, 32])
    meta = load_initial_weights(model, d)                        # a job folder or its model.pt
    saved = torch.load(d / "model.pt", weights_only=True)["model_state"]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in saved.items())
    assert meta["num_classes"] == 10 and meta["model"]["name"] == "small_cnn"
    # a second run starts from those weights: its first epoch starts where the first run ended
    assert job(make_cfg, tmp_path / "second", [f"model.init_from={d}", "optim.lr=0.01"]) == "completed"
    first_loss = float((tmp_path / "second" / "history.csv").read_text().splitlines()[1].split(",")[2])
    assert first_loss < float((d / "history.csv").read_text().splitlines()[1].split(",")[2])


def test_init_from_a_mismatching_model_names_the_problem(make_cfg, tmp_path):
    d = tmp_path / "first"
    assert job(make_cfg, d) == "completed"
    with pytest.raises(ModelError, match="do not fit this model.*model.init_from"):
        load_initial_weights(build_model("small_cnn", 10, widths=[8, 16, 16, 64]), d)
    with pytest.raises(ModelError, match="does not exist"):
        load_initial_weights(build_model("small_cnn", 10, widths=[8, 16, 16, 32]), tmp_path / "nowhere")
    assert job(make_cfg, tmp_path / "wide", [f"model.init_from={d}", "model.widths=[8,16,16,64]"]) == "failed"
    rec = json.loads((tmp_path / "wide" / "results.json").read_text())
    assert "do not fit this model" in rec["error"] and "(32,)" in rec["error"]


def test_submitit_requeue_completes_a_job_across_time_limits(ablate_cli, tmp_path):
    # A job of 3 epochs that is preempted after each epoch it trains (tests/requeue_each_epoch.py sends it the
    # signal submitit_local sends at a time limit) needs exactly 3 slots: 2 requeues by construction, on a fast
    # machine or a loaded one (submitit_local restarts a job at most 6 times; its own limit, an hour, never comes)
    sweep = tmp_path / "sweep"
    env = {"PYTHONPATH": os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")])}
    res = ablate_cli(["-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=60",
                      "+hydra.launcher.max_num_timeout=20",
                      "+hydra.callbacks.requeue._target_=requeue_each_epoch.RequeueAfterEachEpoch",
                      "+hydra.callbacks.requeue.epochs=3",
                      *TINY, "data.num_train=600", "data.num_test=200", "data.val_size=100", "trainer.epochs=3",
                      f"hydra.sweep.dir={sweep}"], cwd=tmp_path, timeout=1500, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    (rec,) = records_of(sweep).values()
    assert rec["status"] == "completed" and rec["resumed_from_epochs"] == [1, 2], rec.get("resumed_from_epochs")
    job_dir = next(p.parent for p in sweep.rglob("results.json"))
    history = (job_dir / "history.csv").read_text().strip().splitlines()
    assert [int(line.split(",")[0]) for line in history[1:]] == [1, 2, 3]
    preempted = {line for p in sweep.rglob("*_log.*") for line in p.read_text().splitlines()
                 if line.startswith("submitit WARNING") and "this job is preempted" in line}   # each log has it
    assert len(preempted) == 2, preempted


def test_a_checkpoint_older_than_a_new_config_key_still_resumes(make_cfg, tmp_path):
    # a key added to the config since the checkpoint was written runs at its default, which is what the
    # checkpoint's run did: resumed, as a complete record is reused (identity.conflicts), not refused
    d = tmp_path / "job"
    assert job(make_cfg, d, ["trainer.keep_checkpoint=true"]) == "completed"
    (d / "results.json").unlink()                                # as if it had stopped after its last epoch
    saved = torch.load(d / "checkpoint.pt", weights_only=False)
    del saved["identity"]["optim.momentum"]                     # as if momentum had been added since
    saved["identity_hash"] = "written-before-the-key"
    torch.save(saved, d / "checkpoint.pt")
    assert job(make_cfg, d, ["trainer.keep_checkpoint=true"]) == "completed"
    assert json.loads((d / "results.json").read_text())["resumed_from_epochs"] == [3]
