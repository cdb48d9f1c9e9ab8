"""A full disk (issue 27, item 6): the job fails with a sentence naming the cause and the fix, never a raw
traceback; what was written whole survives, and a rerun resumes from it. torch.save reports ENOSPC as a
RuntimeError with the OSError only chained: faked here the same way at a chosen write."""
from __future__ import annotations

import errno
import json
import logging

import torch

from ablate.job import checkpoint as checkpoint_module
from ablate.job.run import run_job
from ablate.record import files as records
from conftest import TINY


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
