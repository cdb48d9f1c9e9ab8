"""experiments/campaign/restore.sh: on a machine without the live campaign folders, the committed records go back
where the campaign's sweeps look, so a rerun skips them instead of training them again."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "campaign" / "restore.sh"


def _committed_pairs() -> list[tuple[str, Path]]:
    """(live sweep name, committed folder) as folders.sh lists them."""
    text = (ROOT / "experiments" / "campaign" / "folders.sh").read_text()
    body = text.split('CAMPAIGN_FOLDERS="', 1)[1].split('"', 1)[0]
    return [(live, ROOT / committed) for live, committed in (line.split() for line in body.splitlines() if line)]


def _completed(folder: Path) -> list[Path]:
    return [r for r in folder.glob("*/results.json") if json.loads(r.read_text()).get("status") == "completed"]


def _restore(live: Path) -> str:
    out = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=120, cwd="/",
                         env={**os.environ, "LIVE": str(live), "CARRY_DIR": str(live / "no carried checkpoints")})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_every_committed_record_is_restored_once_and_a_live_one_is_kept(tmp_path):
    expected = {(live, r.parent.name) for live, folder in _committed_pairs() for r in _completed(folder)}
    assert expected, "the repository commits completed campaign records"
    # a live job that completed on this machine keeps its own record
    kept = sorted(expected)[0]
    own = tmp_path / kept[0] / kept[1] / "results.json"
    own.parent.mkdir(parents=True)
    own.write_text(json.dumps({"status": "completed", "mine": True}))

    assert f"restored {len(expected) - 1} completed record(s)" in _restore(tmp_path)
    for live, job in expected - {kept}:
        restored = tmp_path / live / job
        assert (restored / "results.json").exists() and (restored / "history.csv").exists()
        assert not (restored / "checkpoint.pt").exists()
    assert json.loads(own.read_text()) == {"status": "completed", "mine": True}
    assert "restored 0 completed record(s)" in _restore(tmp_path)      # a second run finds nothing to do


def test_start_lists_the_live_folders_to_watch_even_when_the_last_one_is_missing(tmp_path):
    first, last = _committed_pairs()[0][0], _committed_pairs()[-1][0]
    (tmp_path / first).mkdir()
    folders = ROOT / "experiments" / "campaign" / "folders.sh"
    out = subprocess.run(["bash", "-c", f'set -euo pipefail; LIVE={tmp_path}; . {folders}; echo "[$(live_folders)]"'],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"[ {tmp_path / first}]" and last != first


def _fake_checkpoint(path: Path, epoch: int) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state": {"epoch": epoch}, "identity_hash": "abc"}, path)


def _campaign(script: str, live: Path, carried: Path) -> str:
    out = subprocess.run(["bash", str(ROOT / "experiments" / "campaign" / script)], capture_output=True, text=True,
                         timeout=120, cwd="/", env={**os.environ, "LIVE": str(live), "CARRY_DIR": str(carried)})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_carried_checkpoint_resumes_a_long_run_on_a_new_machine_and_never_replaces_a_live_one(tmp_path):
    old, new, carried = tmp_path / "old_machine", tmp_path / "new_machine", tmp_path / "carried"
    job = "experiment=resnet18_94,seed=0"
    _fake_checkpoint(old / "resnet18_94" / job / "checkpoint.pt", epoch=31)
    done = old / "resnet18_94" / "experiment=resnet18_94,seed=1"     # a finished job carries nothing
    _fake_checkpoint(done / "checkpoint.pt", epoch=100)
    (done / "results.json").write_text(json.dumps({"status": "completed"}))
    (old / "ladder" / job).mkdir(parents=True)                          # nor does a folder not in CARRIED
    _fake_checkpoint(old / "ladder" / job / "checkpoint.pt", epoch=5)

    assert "carried: " in (first := _campaign("carry.sh", old, carried)) and "(epoch 31," in first
    assert sorted(p.relative_to(carried) for p in carried.rglob("*") if p.is_file()) == [
        Path("resnet18_94", job, "checkpoint.pt")]
    assert "unchanged" in _campaign("carry.sh", old, carried)

    assert "restored 1 carried checkpoint(s)" in _campaign("restore.sh", new, carried)
    restored = new / "resnet18_94" / job / "checkpoint.pt"
    assert restored.read_bytes() == (carried / "resnet18_94" / job / "checkpoint.pt").read_bytes()
    # the run went on here: its own (newer) checkpoint stays, and so does the old machine's
    _fake_checkpoint(restored, epoch=40)
    assert "restored 0 carried checkpoint(s)" in _campaign("restore.sh", new, carried)
    assert "restored 0 carried checkpoint(s)" in _campaign("restore.sh", old, carried)
    import torch
    assert torch.load(restored, weights_only=True)["state"]["epoch"] == 40


def test_a_carried_checkpoint_is_dropped_once_its_record_is_committed(tmp_path):
    live, folder = next((live, f) for live, f in _committed_pairs() if _completed(f))
    finished = _completed(folder)[0].parent.name            # a job whose complete record is committed
    carried = tmp_path / "carried"
    _fake_checkpoint(carried / live / finished / "checkpoint.pt", epoch=9)
    _fake_checkpoint(carried / live / "a job still training" / "checkpoint.pt", epoch=3)
    out = _campaign("carry.sh", tmp_path / "live", carried)
    assert f"dropped the carried checkpoint of {finished}" in out
    assert not (carried / live / finished).exists() and (carried / live / "a job still training").exists()
