"""Nothing silently wrong, nothing lost: a complete record is reused only for the config that made it, and a job
never overwrites or deletes a file ablate did not write."""
from __future__ import annotations

import json

import torch

from ablate.job.ownership import MARKER
from ablate.job.run import REFUSED, run_job
from ablate.record import files as records
from conftest import TINY

ONE_EPOCH = [*TINY, "trainer.epochs=1", "data.num_train=300", "data.num_test=100", "data.val_size=50"]


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_complete_record_of_another_config_is_refused_and_kept(make_cfg, tmp_path, caplog):
    job = tmp_path / "job"
    assert run_job(make_cfg([*ONE_EPOCH, "optim.lr=0.1"]), job, [], {}, "job") == records.COMPLETED
    before = (job / records.RESULTS).read_bytes()
    assert run_job(make_cfg([*ONE_EPOCH, "optim.lr=0.1"]), job, [], {}, "job") == "skipped"
    status = run_job(make_cfg([*ONE_EPOCH, "optim.lr=0.05"]), job, [], {}, "job")
    assert status == REFUSED
    assert (job / records.RESULTS).read_bytes() == before          # not rewritten, not reported as this job
    message = caplog.text
    assert "optim.lr: 0.1 -> 0.05" in message and "new folder" in message and "hydra.run.dir" in message
    # placement keys do not make another config: the same run on another device setting is still skipped
    assert run_job(make_cfg([*ONE_EPOCH, "optim.lr=0.1", "trainer.progress=none"]), job, [], {}, "job") == "skipped"


def test_a_record_from_before_a_key_existed_is_still_its_configs(make_cfg, tmp_path):
    """A key added to the config since (with its default) is not a change of config."""
    job = tmp_path / "job"
    assert run_job(make_cfg(ONE_EPOCH), job, [], {}, "job") == records.COMPLETED
    rec = json.loads((job / records.RESULTS).read_text())
    del rec["config"]["data"]["normalize"], rec["config"]["trainer"]["unfreeze_at"]
    (job / records.RESULTS).write_text(json.dumps(rec))
    assert run_job(make_cfg(ONE_EPOCH), job, [], {}, "job") == "skipped"


def test_a_folder_of_the_users_own_files_is_refused_untouched(make_cfg, tmp_path, caplog):
    """hydra.run.dir=. is a common habit: a user's checkpoint.pt, model.pt, history.csv and results.json there
    were deleted or overwritten after one warning."""
    mine = tmp_path / "mine"
    mine.mkdir()
    torch.save({"weights": torch.zeros(3)}, mine / "checkpoint.pt")
    torch.save(torch.nn.Linear(2, 2).state_dict(), mine / "model.pt")
    (mine / "history.csv").write_text("step,loss\n1,0.5\n")
    (mine / "results.json").write_text(json.dumps({"accuracy": 0.9}))
    (mine / "notes.txt").write_text("my notes")
    before = snapshot(mine)
    assert run_job(make_cfg(ONE_EPOCH), mine, [], {}, "job") == REFUSED
    assert snapshot(mine) == before and not (mine / MARKER).exists()
    for name in ("checkpoint.pt", "model.pt", "history.csv", "results.json"):
        assert name in caplog.text
    assert "did not write" in caplog.text and "hydra.run.dir=" in caplog.text
    # one file of those names is enough
    only = tmp_path / "only"
    only.mkdir()
    (only / "model.pt").write_bytes(b"my own weights")
    assert run_job(make_cfg(ONE_EPOCH), only, [], {}, "job") == REFUSED
    assert (only / "model.pt").read_bytes() == b"my own weights"


def test_other_files_do_not_stop_a_job_and_its_folder_is_marked(make_cfg, tmp_path):
    folder = tmp_path / "here"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    assert run_job(make_cfg(ONE_EPOCH), folder, [], {}, "job") == records.COMPLETED
    assert (folder / MARKER).exists() and (folder / "notes.txt").read_text() == "my notes"


def test_a_job_folder_from_before_the_mark_is_recognised_and_resumed(make_cfg, tmp_path):
    """Folders written before jobs marked them (the campaign's, a user's earlier sweeps) are still ablate's."""
    job = tmp_path / "job"
    keep = [*ONE_EPOCH, "trainer.keep_checkpoint=true"]
    assert run_job(make_cfg(keep), job, [], {}, "job") == records.COMPLETED
    (job / MARKER).unlink()
    assert run_job(make_cfg(keep), job, [], {}, "job") == "skipped"          # its record is recognised
    (job / MARKER).unlink(missing_ok=True)
    (job / records.RESULTS).unlink()                       # as if killed after its last checkpoint
    assert run_job(make_cfg(keep), job, [], {}, "job") == records.COMPLETED
    rec = records.read_record(job)
    assert rec["resumed_from_epochs"] == [1] and (job / MARKER).exists()


def test_a_job_folder_another_process_trains_is_refused_naming_it(make_cfg, tmp_path, caplog):
    """Two processes on one job folder both trained (no lock), and the second's record claimed a resume that
    never happened."""
    import subprocess
    import sys
    job = tmp_path / "job"
    job.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from ablate.job.ownership import JobLock; "
        "lock = JobLock(Path(sys.argv[1])); assert lock.acquire() is None; print('held', flush=True); "
        "time.sleep(120)"), str(job)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert run_job(make_cfg(ONE_EPOCH), job, [], {}, "job") == REFUSED
        assert f"process {holder.pid}" in caplog.text and "is being trained by" in caplog.text
        assert not (job / records.RESULTS).exists()
    finally:
        holder.kill()
        holder.wait()
    assert run_job(make_cfg(ONE_EPOCH), job, [], {}, "job") == records.COMPLETED      # its death frees it
