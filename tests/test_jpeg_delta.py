"""experiments/campaign/jpeg_delta.py (issue 30 run 3): the same runs on the copy and on it re-encoded once more,
compared apart, on records written here."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments" / "campaign"))
spec = importlib.util.spec_from_file_location("jpeg_delta", ROOT / "experiments/campaign/jpeg_delta.py")
jpeg_delta = importlib.util.module_from_spec(spec)
spec.loader.exec_module(jpeg_delta)


def write(sweep: Path, seed: int, acc: float, precision: str = "fp32", status: str = "completed") -> None:
    job = sweep / f"rung=2_cosine,seed={seed}"
    job.mkdir(parents=True)
    (job / "results.json").write_text(json.dumps({
        "status": status, "seed": seed, "metrics": {"test_acc": acc / 100}, "env": {"precision": precision}}))


def test_twice_minus_once_with_welchs_interval(tmp_path):
    for seed, (once, twice) in enumerate([(82.6, 82.0), (82.4, 82.2)]):
        write(tmp_path / "once", seed, once)
        write(tmp_path / "twice", seed, twice)
    write(tmp_path / "twice", 2, 10.0, status="interrupted")           # not a result: left out
    text = jpeg_delta.main([str(tmp_path / "once"), str(tmp_path / "twice"), "--out", str(tmp_path / "d.md")])
    assert "| as is (JPEG once) | 0, 1 | 82.60, 82.40 | 82.50 [" in text
    assert "| re-encoded (JPEG twice) | 0, 1 | 82.00, 82.20 | 82.10 [" in text
    assert "Twice - once: **-0.40 [" in text and "not a measurement of it." in text
    assert (tmp_path / "d.md").read_text() == text


def test_it_needs_two_seeds_a_side_of_one_precision(tmp_path):
    for seed in (0, 1):
        write(tmp_path / "once", seed, 82.5)
        write(tmp_path / "twice", seed, 82.5, precision="bf16")
    with pytest.raises(SystemExit, match="different precisions"):
        jpeg_delta.main([str(tmp_path / "once"), str(tmp_path / "twice")])
    with pytest.raises(SystemExit, match="need two completed seeds a side: 2 and 0"):
        jpeg_delta.main([str(tmp_path / "once"), str(tmp_path / "nowhere")])
