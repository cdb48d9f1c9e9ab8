"""experiments/campaign/airbench_tradeoffs.py (issue 28 item 4): each trick at its published epochs read against
the full recipe, on records written here."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments" / "campaign"))
spec = importlib.util.spec_from_file_location("airbench_tradeoffs", ROOT / "experiments/campaign/airbench_tradeoffs.py")
tradeoffs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tradeoffs)


def write(sweep: Path, seed: int, overrides: list[str], mc: float, precision: str = "bf16") -> None:
    job = sweep / ",".join([*overrides, f"seed={seed}"])
    job.mkdir(parents=True)
    metrics = {"test_acc": (mc - 0.8) / 100, "test_acc_tta": (mc - 0.2) / 100, "test_acc_tta_multicrop": mc / 100}
    (job / "results.json").write_text(json.dumps({
        "status": "completed", "seed": seed, "metrics": metrics, "env": {"precision": precision},
        "overrides": [f"seed={seed}", "experiment=airbench94", *(o.replace("=false", "=False") for o in overrides)]}))


@pytest.fixture
def full(tmp_path: Path) -> Path:
    for seed, mc in enumerate((90.4, 90.5, 90.6, 90.5, 90.55)):
        write(tmp_path / "full", seed, [], mc)
    return tmp_path / "full"


def test_each_trick_is_read_against_the_full_recipe_at_its_published_epochs_only(tmp_path, full):
    pub = tmp_path / "published"
    write(pub, 0, ["model.whiten=false", "trainer.epochs=22"], 90.5)           # lands where the full recipe does
    write(pub, 0, ["model.dirac_init=false", "trainer.epochs=12.7"], 89.0)     # short of it
    write(pub, 1, ["model.dirac_init=false", "trainer.epochs=9.9"], 95.0)      # not at its published epochs
    for seed, mc in enumerate((90.0, 90.1)):
        write(pub, seed, ["trainer.lookahead=false", "trainer.epochs=10.7"], mc)
    rows = {line.split("`")[1]: line for line in tradeoffs.main([str(full), str(pub)]).splitlines() if "`" in line
            and line.startswith("| ")}
    low, high = tradeoffs.prediction_interval([90.4, 90.5, 90.6, 90.5, 90.55])
    assert low < 90.5 < high and 89.0 < low
    assert "| 1 | 90.50 | inside the full recipe's 95% prediction interval" in rows["model.whiten=false"]
    assert "| 1 | 89.00 | below the full recipe's 95% prediction interval" in rows["model.dirac_init=false"]
    assert "| 2 | 90.00, 90.10 | -0.46 [" in rows["trainer.lookahead=false"]
    assert "under the full recipe" in rows["trainer.lookahead=false"]
    assert "| 0 | - | not run yet |" in rows["aug.ops.1.op=flip"]


def test_records_of_another_precision_are_refused(tmp_path, full):
    write(tmp_path / "published", 0, ["model.whiten=false", "trainer.epochs=22"], 90.5, precision="fp32")
    with pytest.raises(SystemExit, match="different precisions"):
        tradeoffs.main([str(full), str(tmp_path / "published")])
