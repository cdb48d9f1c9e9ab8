"""experiments/campaign/airbench_order.py (issue 28 item 3): drops with their sign and intervals, and the rank
test against the published epochs, on records written here."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("airbench_order", ROOT / "experiments/campaign/airbench_order.py")
airbench_order = importlib.util.module_from_spec(spec)
spec.loader.exec_module(airbench_order)

# published epochs saved: whiten 12.1 > norm lr 4.3 > dirac 2.8 > alternating flip 0.9 > lookahead 0.8
DROPS = {"model.whiten=false": 3.0, "optim.norm_lr_scale=1": 1.5, "model.dirac_init=false": 1.0,
         "aug.ops.1.op=flip": 0.4, "trainer.lookahead=false": 0.2}


def write(sweep: Path, name: str, seed: int, overrides: list[str], acc: float, precision: str = "fp32") -> None:
    job = sweep / name
    job.mkdir(parents=True)
    metrics = {"test_acc": acc / 100, "test_acc_tta": (acc + 0.5) / 100, "test_acc_tta_multicrop": (acc + 0.8) / 100}
    as_hydra_writes_them = [o.replace("=false", "=False") for o in overrides]
    (job / "results.json").write_text(json.dumps({"status": "completed", "seed": seed, "metrics": metrics,
                                                  "env": {"precision": precision},
                                                  "overrides": [f"seed={seed}", "experiment=airbench94",
                                                                *as_hydra_writes_them]}))


def sweeps(tmp_path: Path, drops: dict) -> tuple[Path, Path]:
    full, left = tmp_path / "full", tmp_path / "loo"
    noise = (-0.1, 0.0, 0.1)
    for seed in range(3):
        write(full, f"seed={seed}", seed, [], 89.7 + noise[seed])
        for trick, drop in drops.items():
            write(left, f"{trick},seed={seed}", seed, [trick], 89.7 - drop + noise[(seed + 1) % 3])
    return full, left


def test_drops_are_full_minus_left_out_and_agree_in_rank_with_the_published_epochs(tmp_path):
    full, left = sweeps(tmp_path, DROPS)
    text = airbench_order.main([str(full), str(left), "--out", str(tmp_path / "order.md")])
    row = next(line for line in text.splitlines() if "`model.whiten=false`" in line)
    assert "| 22 (25) | 12.1 | 3 | +3.00 [" in row                    # a positive drop: the trick buys accuracy
    assert "Spearman rho = +1.00, one-sided exact p = 0.008" in text   # 1 ordering in 5! = 120
    assert "multi-crop - none +0.80 points" in text
    assert "Final-epoch test accuracy on the JPEG copy, fp32;" in text
    assert (tmp_path / "order.md").read_text() == text


def test_a_rank_over_drops_of_one_run_says_the_order_is_not_known(tmp_path):
    full, left = sweeps(tmp_path, DROPS)
    assert "not that the order is known" not in airbench_order.main([str(full), str(left)])   # 3 runs a trick
    for extra in left.glob("*,seed=[12]"):
        for f in extra.iterdir():
            f.unlink()
        extra.rmdir()
    text = airbench_order.main([str(full), str(left)])
    assert "Spearman rho = +1.00" in text and "a trick here has 1 run (no interval)" in text


def test_a_missing_trick_leaves_the_rank_test_out_and_too_few_full_seeds_stop(tmp_path):
    full, left = sweeps(tmp_path, {k: v for k, v in DROPS.items() if k != "trainer.lookahead=false"})
    text = airbench_order.main([str(full), str(left)])
    assert "not computed until every trick has a record (4 of 5)" in text
    assert "| lookahead (`trainer.lookahead=false`) | 10.7 (125) | 0.8 | 0 | - | - | - |" in text
    with pytest.raises(SystemExit, match="two completed seeds of the full recipe"):
        airbench_order.main([str(tmp_path / "nowhere"), str(left)])


def test_records_of_two_precisions_are_refused_not_pooled(tmp_path):
    full, left = sweeps(tmp_path, DROPS)
    write(tmp_path / "bf16", "seed=0", 0, ["trainer.precision=bf16"], 89.6, precision="bf16")
    write(tmp_path / "bf16", "seed=1", 1, ["trainer.precision=bf16"], 89.8, precision="bf16")
    with pytest.raises(SystemExit, match=r"different precisions \(full recipe: \['bf16'\], left out: \['fp32'\]\)"):
        airbench_order.main([str(tmp_path / "bf16"), str(left)])
