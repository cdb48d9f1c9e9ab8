"""End to end on the offline CIFAR-10 copy: small_cnn, cropflip + cosine, 2 epochs, 5000 images, CPU."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def offline_cifar10(tmp_path_factory):
    script = SHARED / "prepare_cifar10.py"
    if not script.is_file():
        pytest.skip(f"{SHARED} is absent: the offline CIFAR-10 copy ships only beside this workplace's checkout")
    out = tmp_path_factory.mktemp("cifar")
    subprocess.run([sys.executable, str(script), str(out)], check=True, capture_output=True, timeout=600)
    return out


@pytest.mark.slow
def test_small_cnn_learns_cifar10_in_two_epochs(offline_cifar10, ablate_cli, tmp_path):
    run_dir = tmp_path / "run"
    res = ablate_cli(["data=cifar10", f"data.root={offline_cifar10}", "data.download=false",
                      "data.train_subset=5000", "model=small_cnn", "aug=cropflip", "schedule=cosine",
                      "trainer.epochs=2", "trainer.progress=log", f"hydra.run.dir={run_dir}"], cwd=tmp_path,
                     timeout=1800)
    assert res.returncode == 0, res.stdout + res.stderr
    rec = json.loads((run_dir / "results.json").read_text())
    assert rec["status"] == "completed"
    assert rec["data_sizes"] == {"train": 5000, "val": 5000, "test": 10000}
    assert rec["class_names"][0] == "airplane"
    assert rec["metrics"]["test_acc"] > 0.35, rec["metrics"]
