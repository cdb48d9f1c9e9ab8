"""The run record: schema, atomic write, failure records, skipping complete jobs."""
from __future__ import annotations

import csv
import json

import pytest

from ablate.record import files as records
from ablate.job.run import run_job
from conftest import TINY

CHOICES = {"aug": "none", "data": "synthetic"}


def job(make_cfg, tmp_path, extra=(), name="job"):
    cfg = make_cfg(TINY + ["trainer.epochs=2", *extra])
    return run_job(cfg, tmp_path / name, list(extra), CHOICES, name), tmp_path / name


def test_completed_record_schema(make_cfg, tmp_path):
    status, d = job(make_cfg, tmp_path, ["seed=3"])
    assert status == "completed"
    rec = json.loads((d / "results.json").read_text())
    assert rec["status"] == "completed" and rec["seed"] == 3
    assert rec["overrides"] == ["seed=3"] and rec["choices"] == CHOICES
    assert rec["config"]["model"]["name"] == "small_cnn"
    for key in ("test_acc", "test_acc_tta", "val_acc", "train_acc", "test_nll", "test_ece", "per_class_acc"):
        assert key in rec["metrics"], key
    for key in ("test_acc", "test_acc_tta", "val_acc", "train_acc"):
        assert 0 <= rec["metrics"][key] <= 1
    assert len(rec["confusion_matrix"]) == 10 and len(rec["class_names"]) == 10
    assert set(rec["timing"]) >= {"train_seconds", "images_per_second"}
    assert set(rec["env"]) >= {"torch", "device_name", "git_sha", "host", "date"}
    rows = list(csv.DictReader(open(d / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert not list(d.glob(".*.tmp"))   # no temp file left behind


def test_complete_record_is_skipped_untouched(make_cfg, tmp_path):
    _, d = job(make_cfg, tmp_path)
    before = (d / "results.json").read_bytes()
    status, _ = job(make_cfg, tmp_path)
    assert status == "skipped" and (d / "results.json").read_bytes() == before


def test_failure_writes_a_failed_record_with_the_reason(make_cfg, tmp_path):
    status, d = job(make_cfg, tmp_path, ["data.val_size=999999"])
    assert status == "failed"
    rec = records.read_record(d)
    assert rec["status"] == "failed" and "data.val_size" in rec["error"] and "Traceback" in rec["traceback"]
    # a failed record is retried by the next run
    status, _ = job(make_cfg, tmp_path, ["data.val_size=999999"])
    assert status == "failed"


def test_atomic_write_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "results.json"
    records.write_json_atomic(path, {"status": "completed", "metrics": {}})
    with pytest.raises(TypeError):
        records.write_json_atomic(path, {"status": object()})
    assert json.loads(path.read_text())["status"] == "completed"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_nan_becomes_null_in_json(tmp_path):
    records.write_json_atomic(tmp_path / "r.json", {"x": float("nan"), "y": [1.0, float("inf")]})
    assert json.loads((tmp_path / "r.json").read_text()) == {"x": None, "y": [1.0, None]}


@pytest.mark.parametrize("aug", ["mixup", "cutmix", "keras"])
def test_label_mixing_and_geometric_aug_runs_complete(make_cfg, tmp_path, aug):
    status, d = job(make_cfg, tmp_path, [f"aug={aug}"])
    rec = json.loads((d / "results.json").read_text())
    assert status == "completed", rec.get("error")
    assert 0 <= rec["metrics"]["train_acc"] <= 1


def test_a_ctrl_c_during_a_checkpoint_write_lands_after_it_whole(tmp_path):
    import os
    import signal
    from collections import OrderedDict

    import torch

    from ablate.job.checkpoint import load_checkpoint, save_checkpoint

    class InterruptMidWrite(dict):
        def __reduce_ex__(self, protocol):               # called by torch.save halfway through its writer
            os.kill(os.getpid(), signal.SIGINT)
            return OrderedDict, (list(self.items()),)      # loads as an OrderedDict (weights_only allows it)

    state = {"state": {"epoch": 3, "w": torch.arange(1000.0)}, "extra": InterruptMidWrite(a=1)}
    with pytest.raises(KeyboardInterrupt):               # not torch's RuntimeError from inside its zip writer
        save_checkpoint(tmp_path, state)
    back = load_checkpoint(tmp_path)                       # and the file it was writing is whole
    assert back["state"]["epoch"] == 3 and torch.equal(back["state"]["w"], state["state"]["w"])


def test_temp_files_of_a_killed_writer_are_removed_and_nothing_else(tmp_path):
    from ablate.record.atomic import remove_stale_temps
    (tmp_path / ".checkpoint.pt.x1y2.tmp").write_bytes(b"half a checkpoint")
    (tmp_path / ".results.json.ab.tmp").write_text("{")
    (tmp_path / "results.json").write_text("{}")
    (tmp_path / "notes.tmp").write_text("a user's file")
    removed = remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == [".checkpoint.pt.x1y2.tmp", ".results.json.ab.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.tmp", "results.json"]


def test_the_cpu_model_names_the_machine_with_family_model_and_stepping():
    from ablate.record.provenance import cpu_model
    info = ("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 207\n"
            "model name\t: Intel(R) Xeon(R) Processor\nstepping\t: 2\n\nprocessor\t: 1\nmodel\t\t: 999\n")
    assert cpu_model(info) == "Intel(R) Xeon(R) Processor (cpu family 6, model 207, stepping 2)"
    assert cpu_model("") and "(" not in cpu_model("")             # no cpuinfo: the platform's word, no numbers


def test_one_record_format_for_the_job_and_the_fakes(make_cfg, tmp_path):
    """The job's record and the test helpers' fake ones start from the same constructor and meet one
    description (record_problems), with the format's version in the file."""
    from ablate.record.synthetic import write_sweep
    real = json.loads((job(make_cfg, tmp_path)[1] / "results.json").read_text())
    assert real["version"] == records.RECORD_VERSION and records.record_problems(real) == []
    sweep = write_sweep(tmp_path / "fake", {"aug=none": [0.7, 0.71]})
    for path in sweep.glob("*/results.json"):
        assert records.record_problems(json.loads(path.read_text())) == []
    assert records.record_problems({**real, "version": 99})[-1].startswith("a reader of version 99")
    old = {k: v for k, v in real.items() if k != "version"}
    assert records.record_version(old) == 1 and records.record_problems(old) == []
    del old["metrics"]["test_ece"]
    assert records.record_problems(old) == ["metrics.test_ece"]
