"""Tests that need a CUDA GPU (`pytest -m cuda`; skipped without one): the core on cuda against the CPU, exact
resume there, checkpoints crossing CPU <-> CUDA, two jobs on two GPUs, the fused two-phase run, precision=auto,
the data-fit refusal. `bash experiments/bench/run_gpu.sh` runs them first on a GPU machine."""
from __future__ import annotations

import io
import json

import pytest
import torch

from ablate.core import OptimSettings, ScheduleSettings, TrainSettings, train
from ablate.core.device import resolve_precision
from ablate.data import make_splits
from ablate.data.augment import BatchAugment
from ablate.data.synthetic import load_synthetic
from ablate.errors import TrainingError
from ablate.models import build_model
from conftest import TINY

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
CROPFLIP = [{"op": "crop", "padding": 4}, {"op": "flip"}]


def run(device, epochs=2, resume=None, on_epoch=None, deterministic=False, precision="bf16", **kw):
    torch.manual_seed(0)
    splits = make_splits(load_synthetic(num_train=2000, num_test=500, noise=1.5), 200, None, 0)
    s = TrainSettings(epochs=epochs, batch_size=64, device=device, precision=precision, channels_last=True,
                      deterministic=deterministic, seed=0, optim=OptimSettings(lr=0.05, momentum=0.9),
                      schedule=ScheduleSettings(name="cosine"), **kw)
    return train(build_model("small_cnn", 10, widths=[16, 32, 32, 64]), splits, s, BatchAugment(CROPFLIP),
                 on_epoch, resume=resume)


def through_bytes(state):
    buf = io.BytesIO()
    torch.save(state, buf)
    return torch.load(io.BytesIO(buf.getvalue()), weights_only=True, map_location="cpu")


def stopped_after(device, epoch, **kw):
    saved = {}

    def stop(row, state):
        if state.epoch == epoch:
            saved["state"] = through_bytes(state.state_dict())
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(device, on_epoch=stop, **kw)
    return saved["state"]


def test_two_epochs_on_cuda_match_the_cpu_within_noise():
    gpu, cpu = run("cuda"), run("cpu")
    assert gpu.device.startswith("cuda") and gpu.precision == "bf16"
    assert gpu.metrics["test_acc"] > 0.5 and cpu.metrics["test_acc"] > 0.5
    assert abs(gpu.metrics["test_acc"] - cpu.metrics["test_acc"]) < 0.1
    assert gpu.timing["images_per_second"] > 0


def test_exact_resume_on_cuda_with_deterministic():
    whole = run("cuda", epochs=3, deterministic=True)
    state = stopped_after("cuda", 2, epochs=3, deterministic=True)
    torch.manual_seed(123)
    resumed = run("cuda", epochs=3, deterministic=True, resume=state)
    assert resumed.metrics["test_nll"] == whole.metrics["test_nll"]
    assert resumed.history[-1]["train_loss"] == whole.history[-1]["train_loss"]
    torch.use_deterministic_algorithms(False)


@pytest.mark.parametrize("first,then", [("cpu", "cuda"), ("cuda", "cpu")])
def test_resume_across_device_types(first, then):
    state = stopped_after(first, 1, epochs=3)
    resumed = run(then, epochs=3, resume=state)
    assert len(resumed.history) == 3 and resumed.metrics["test_acc"] > 0.3
    assert any("reseeded" in n for n in resumed.notes)


def test_fused_two_phase_run_on_cuda():
    splits = make_splits(load_synthetic(num_train=256, num_test=64, noise=1.0), 64, None, 0)
    s = TrainSettings(epochs=2, batch_size=64, device="cuda", fused_optimizer=True, tta=False,
                      optim=OptimSettings(lr=0.05, momentum=0.9), unfreeze_at=1)
    result = train(build_model("resnet18", 10, freeze=True), splits, s)
    assert result.optimizer_fused and len(result.history) == 2


def test_precision_auto_on_this_gpu():
    device = torch.device("cuda", 0)
    expected = "bf16" if torch.cuda.get_device_capability(device)[0] >= 8 else "fp32"
    assert resolve_precision("auto", device) == expected


def test_data_that_does_not_fit_is_refused_naming_image_size(monkeypatch):
    monkeypatch.setattr("torch.cuda.mem_get_info", lambda d=None: (1000, 10 ** 10))
    with pytest.raises(TrainingError, match="lower data.image_size"):
        run("cuda", epochs=1)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_two_job_sweep_on_two_gpus(ablate_cli, tmp_path):
    sweep = tmp_path / "sweep"
    res = ablate_cli(["-m", *[a for a in TINY if a != "trainer.device=cpu"], "trainer.epochs=2", "seed=0,1",
                      "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    recs = [json.loads(p.read_text()) for p in sweep.glob("*/results.json")]
    assert sorted(r["env"]["device"] for r in recs) == ["cuda:0", "cuda:1"]
    assert all(r["timing"]["images_per_second"] > 0 for r in recs)
