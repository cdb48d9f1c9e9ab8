"""A full disk (issue 27, item 6): the job fails with a sentence naming the cause and the fix, never a raw
traceback; what was written whole survives, and a rerun resumes from it. torch.save reports ENOSPC as a
RuntimeError with the OSError only chained: faked the same way at a chosen write, and met for real on a small
tmpfs that fills up (root only)."""
from __future__ import annotations

import errno
import json
import logging
import subprocess

import pytest
import torch

from ablate.job import checkpoint as checkpoint_module
from ablate.job.run import run_job
from ablate.record import files as records
from conftest import TINY

EXACT_TINY = [*TINY, "trainer.deterministic=true", "data.num_train=600", "data.val_size=100", "data.num_test=200"]


def _disk_full_at(monkeypatch, write_number: int):
    real, calls = torch.save, {"n": 0}

    def save(obj, f, *a, **k):
        calls["n"] += 1
        if calls["n"] == write_number:
            try:
                raise OSError(errno.ENOSPC, "No space left on device", "checkpoint.pt.tmp")
            except OSError as cause:
                raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 448 vs 342") \
                    from cause
        return real(obj, f, *a, **k)

    monkeypatch.setattr(checkpoint_module.torch, "save", save)
    return calls


def test_disk_full_at_a_checkpoint_is_one_sentence_and_a_rerun_resumes(make_cfg, tmp_path, monkeypatch, caplog):
    d = tmp_path / "job"
    cfg = make_cfg([*TINY, "trainer.epochs=3"])
    _disk_full_at(monkeypatch, 2)                         # epoch 1's checkpoint lands, epoch 2's hits ENOSPC
    with caplog.at_level(logging.INFO, logger="ablate"):
        assert run_job(cfg, d, [], {}, "job") == records.FAILED
    rec = json.loads((d / "results.json").read_text())
    assert rec["error"].startswith("no space left on the disk") and "run the same command again" in rec["error"]
    assert "Traceback" not in caplog.text and "inline_container" not in caplog.text
    assert rec["epochs_completed"] == 1
    monkeypatch.undo()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ablate"):
        assert run_job(cfg, d, [], {}, "job") == records.COMPLETED
    assert json.loads((d / "results.json").read_text())["resumed_from_epochs"] == [1]


def test_a_failed_record_that_cannot_be_written_either_is_said_not_raised(make_cfg, tmp_path, monkeypatch, caplog):
    d = tmp_path / "job"
    cfg = make_cfg([*TINY, "trainer.epochs=2"])
    _disk_full_at(monkeypatch, 1)
    real_write = records.write_json_atomic

    def write(path, data):
        if data.get("status") == records.FAILED:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write(path, data)

    monkeypatch.setattr(records, "write_json_atomic", write)
    assert run_job(cfg, d, [], {}, "job") == records.FAILED          # no exception reaches Hydra
    assert "its failed record could not be written" in caplog.text and "no space left" in caplog.text


def test_a_record_that_cannot_be_written_says_whether_a_checkpoint_is_kept(make_cfg, tmp_path, monkeypatch, caplog):
    real_write = records.write_json_atomic

    def write(path, data):
        if data.get("status") == records.COMPLETED:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write(path, data)

    monkeypatch.setattr(records, "write_json_atomic", write)
    for extra, words in ((["trainer.checkpoint_every=0"], "it trains again"), ([], "the checkpoint is kept")):
        caplog.clear()
        cfg = make_cfg([*TINY, "trainer.epochs=1", *extra])
        assert run_job(cfg, tmp_path / str(len(extra)), [], {}, "job") == records.FAILED
        assert words in caplog.text


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs of its own (root only: skipped where it cannot be mounted), unmounted afterwards."""
    mount = tmp_path / "small_disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'not root'})")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def _fill(folder) -> int:
    """Fill the filesystem holding folder to the last byte; the bytes written."""
    written = 0
    with open(folder / "filler", "wb") as f:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    f.write(b"\0" * size)
                    f.flush()
                    written += size
            except OSError as e:
                assert e.errno == errno.ENOSPC
    return written


def test_a_real_full_disk_is_one_sentence_and_a_rerun_resumes_exactly(make_cfg, tmp_path, small_disk,
                                                                      monkeypatch, caplog):
    # The kernel's own ENOSPC, through torch.save, on a filesystem that fills up after epoch 1 is written whole
    # (the filler takes every free byte once history.csv shows epoch 1): epoch 2's checkpoint and the failed
    # record both hit it. Then space is freed and the same job resumes from epoch 1, exactly.
    cfg = make_cfg([*EXACT_TINY, "trainer.epochs=3"])
    job, real_history = small_disk / "job", records.write_history

    def history_then_full_disk(path, rows):
        real_history(path, rows)
        if len(rows) == 1:
            _fill(small_disk)

    monkeypatch.setattr(records, "write_history", history_then_full_disk)
    with caplog.at_level(logging.INFO, logger="ablate"):
        assert run_job(cfg, job, [], {}, "job") == records.FAILED
    assert "no space left on the disk" in caplog.text and "its failed record could not be written" in caplog.text
    assert "Traceback" not in caplog.text and "inline_container" not in caplog.text
    assert torch.load(job / "checkpoint.pt", weights_only=True)["state"]["epoch"] == 1   # the last whole one, kept
    assert not list(job.glob(".*.tmp"))                                              # no half-written file left
    monkeypatch.undo()
    (small_disk / "filler").unlink()
    assert run_job(cfg, job, [], {}, "job") == records.COMPLETED
    resumed = json.loads((job / "results.json").read_text())
    assert resumed["resumed_from_epochs"] == [1]
    assert run_job(cfg, tmp_path / "uninterrupted", [], {}, "job") == records.COMPLETED
    whole = json.loads((tmp_path / "uninterrupted" / "results.json").read_text())
    for key in ("test_acc", "val_acc", "train_acc", "test_nll"):
        assert resumed["metrics"][key] == whole["metrics"][key], key
