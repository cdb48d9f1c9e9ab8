"""experiments/campaign/ladder_widths.py (issue 30 run 2): the ladder's top rung at other widths against the
ladder's own, and as a share of the shortfall against the lesson, on records written here."""
from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
from scipy import stats as sps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments" / "campaign"))
spec = importlib.util.spec_from_file_location("ladder_widths", ROOT / "experiments/campaign/ladder_widths.py")
ladder_widths = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ladder_widths)

LADDER = (48, 96, 192, 384)


def write(sweep: Path, seed: int, acc: float, widths=LADDER, rung: str = "2_cosine") -> None:
    job = sweep / f"rung={rung},seed={seed},w={widths[0]}"
    job.mkdir(parents=True)
    (job / "results.json").write_text(json.dumps({
        "status": "completed", "seed": seed, "metrics": {"test_acc": acc / 100}, "env": {"precision": "bf16"},
        "choices": {"rung": rung}, "config": {"model": {"widths": list(widths)}},
        "overrides": [f"rung={rung}", f"seed={seed}", "experiment=ladder"]}))


@pytest.fixture
def ladder(tmp_path: Path) -> Path:
    for seed, acc in enumerate((85.9, 86.0, 86.1)):
        write(tmp_path / "ladder", seed, acc)
    write(tmp_path / "ladder", 0, 83.0, rung="1_cropflip")              # another rung: not the baseline
    return tmp_path / "ladder"


def cells(text: str, widths: str) -> list[str]:
    line = next(l for l in text.splitlines() if l.startswith(f"| {widths}"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_one_run_is_read_by_the_ladders_prediction_interval_and_as_a_share_of_the_shortfall(tmp_path, ladder):
    write(tmp_path / "w64", 0, 87.0, widths=(64, 128, 256, 512))
    text = ladder_widths.main([str(ladder), str(tmp_path / "w64"), "--out", str(tmp_path / "widths.md")])
    half = sps.t.ppf(0.975, 2) * 0.1 * math.sqrt(1 + 1 / 3)
    assert cells(text, "64-128-256-512")[3:] == [
        "87.00", f"+1.00 [{1 - half:+.2f}, {1 + half:+.2f}]",
        f"+50% [{100 * (1 - half) / 2:+.0f}%, {100 * (1 + half) / 2:+.0f}%]"]     # shortfall 88 - 86.00 = 2
    assert cells(text, "48-96-192-384")[2:4] == ["3", "86.00 [85.75, 86.25]"]
    assert (tmp_path / "widths.md").read_text() == text


def test_two_runs_at_a_width_are_compared_by_welch(tmp_path, ladder):
    for seed, acc in enumerate((84.5, 84.7)):
        write(tmp_path / "w32", seed, acc, widths=(32, 64, 128, 256))
    d = cells(ladder_widths.main([str(ladder), str(tmp_path / "w32")]), "32-64-128-256")[4]
    assert d.startswith("-1.40 [") and "]" in d
    low, high = (float(v) for v in d[len("-1.40 ["):-1].split(", "))
    assert low < -1.40 < high < 0


def test_the_baseline_needs_two_seeds_and_one_width(tmp_path):
    write(tmp_path / "one", 0, 86.0)
    with pytest.raises(SystemExit, match="two completed seeds of rung 2_cosine"):
        ladder_widths.main([str(tmp_path / "one"), str(tmp_path / "none")])
    for seed in (0, 1):
        write(tmp_path / "mixed", seed, 86.0)
    write(tmp_path / "mixed", 0, 87.0, widths=(64, 128, 256, 512))
    with pytest.raises(SystemExit, match="at one width"):
        ladder_widths.main([str(tmp_path / "mixed"), str(tmp_path / "none")])
