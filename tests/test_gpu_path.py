"""The CUDA code path, checked on the CPU wherever the same code runs there: the fused optimizer through a
two-phase run, a resume from another device type's generator state, the CIFAR stem refused at large sizes,
precision=auto by compute capability, device indices, the out-of-memory messages, mixed hardware in a report."""
from __future__ import annotations

import io
import json
import os
import re
import sys
import tomllib

import pytest
import torch

from ablate.record.synthetic import AUG, BASE, write_sweep
from ablate.core import OptimSettings, ScheduleSettings, TrainSettings, train
from ablate.core.device import resolve_device, resolve_precision
from ablate.core.optim import build_optimizer, fill_momentum_buffers
from ablate.core.train import eval_batch
from ablate.data import make_splits
from ablate.data.augment import BatchAugment
from ablate.data.synthetic import load_synthetic
from ablate.errors import ConfigError, TrainingError
from ablate.models import build_model
from ablate.report import write_report
from ablate.job.run import run_job
from conftest import ROOT, TINY


def two_phase(fused: bool, epochs: int = 3, resume=None, on_epoch=None):
    torch.manual_seed(0)
    splits = make_splits(load_synthetic(num_train=192, num_test=32, noise=1.0), 32, None, 0)
    model = build_model("resnet18", 10, freeze=True)
    s = TrainSettings(epochs=epochs, batch_size=64, device="cpu", tta=False, fused_optimizer=fused,
                      optim=OptimSettings(lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True),
                      unfreeze_at=1, unfreeze_lr_factor=0.1)
    return train(model, splits, s, resume=resume, on_epoch=on_epoch)


def test_fused_sgd_two_phase_run_is_bit_identical_to_the_unfused_one():
    """torch's fused SGD raised TypeError on the first phase-2 step (no momentum buffer for the parameters that
    were frozen); the CPU has the same fused kernel, so this runs the path a GPU takes."""
    fused, plain = two_phase(True), two_phase(False)
    assert fused.optimizer_fused and not plain.optimizer_fused
    assert fused.metrics["test_nll"] == plain.metrics["test_nll"]
    assert [r["train_loss"] for r in fused.history] == [r["train_loss"] for r in plain.history]


def test_fused_two_phase_run_resumed_in_phase_one_completes_exactly():
    saved = {}

    def stop_after_1(row, state):
        if state.epoch == 1:
            buf = io.BytesIO()
            torch.save(state.state_dict(), buf)
            saved["state"] = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
            raise KeyboardInterrupt

    whole = two_phase(True)
    with pytest.raises(KeyboardInterrupt):
        two_phase(True, on_epoch=stop_after_1)
    resumed = two_phase(True, resume=saved["state"])
    assert resumed.metrics["test_nll"] == whole.metrics["test_nll"]


def test_zero_momentum_buffer_gives_the_unfused_first_step():
    p = torch.nn.Parameter(torch.ones(3))
    opt = build_optimizer([p], OptimSettings(lr=0.1, momentum=0.9), fused=True)
    assert opt.defaults["fused"]
    fill_momentum_buffers(opt)
    p.grad = torch.full((3,), 2.0)
    opt.step()
    assert torch.equal(p.detach(), torch.full((3,), 0.8))


def test_the_record_says_whether_the_optimizer_ran_fused(make_cfg, tmp_path):
    for fused in (True, False):
        cfg = make_cfg([*TINY, "trainer.epochs=1", f"trainer.fused_optimizer={str(fused).lower()}",
                        "data.num_train=256", "data.val_size=64", "data.num_test=64"])
        assert run_job(cfg, tmp_path / str(fused), [], {}, "job") == "completed"
        rec = json.loads((tmp_path / str(fused) / "results.json").read_text())
        assert rec["env"]["optimizer_fused"] is fused and rec["env"]["tf32"] is False


def tiny(epochs=4, resume=None, on_epoch=None):
    torch.manual_seed(0)
    splits = make_splits(load_synthetic(num_train=400, num_test=100, noise=1.0), 100, None, 0)
    s = TrainSettings(epochs=epochs, batch_size=64, device="cpu", seed=3, optim=OptimSettings(lr=0.05, momentum=0.9),
                      schedule=ScheduleSettings(name="cosine"))
    aug = BatchAugment([{"op": "crop", "padding": 4}, {"op": "flip"}])
    return train(build_model("small_cnn", 10, widths=[8, 16, 16, 32]), splits, s, aug, on_epoch, resume=resume)


def state_after(run, epochs: int) -> dict:
    """The TrainState.state_dict() of run(on_epoch=...) interrupted after `epochs` epochs."""
    saved = {}

    def stop(row, state):
        if state.epoch == epochs:
            saved["state"] = state.state_dict()
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(on_epoch=stop)
    return saved["state"]


def test_resume_from_a_cuda_checkpoint_on_the_cpu_reseeds_with_a_note():
    """A CUDA generator's state (16 bytes) does not fit a CPU generator (5,056): set_state raised on every
    rerun. Now the data order is reseeded from (seed, epoch), and the record says so."""
    state = state_after(tiny, 2)
    state["generator"] = torch.arange(16, dtype=torch.uint8)    # what torch.Generator("cuda").get_state() holds
    del state["generator_device"]                               # an older checkpoint: told apart by its size
    with pytest.raises(RuntimeError):
        torch.Generator().set_state(state["generator"])         # what the old code did with it
    buf = io.BytesIO()
    torch.save(state, buf)                                      # through bytes, as a checkpoint file would be

    def checkpoint(**changes):
        return {**torch.load(io.BytesIO(buf.getvalue()), weights_only=True), **changes}

    resumed = tiny(resume=checkpoint())
    assert len(resumed.history) == 4
    assert len(resumed.notes) == 1 and "reseeded from (seed 3, epoch 2)" in resumed.notes[0]
    again = tiny(resume=checkpoint(generator_device="cuda"))
    assert [r["train_loss"] for r in again.history] == [r["train_loss"] for r in resumed.history]   # repeatable


def test_cifar_stem_refused_at_224_before_data_loads(make_cfg, tmp_path):
    with pytest.raises(ConfigError, match="model.stem=imagenet"):
        build_model("resnet50", 10, image_size=224)
    assert build_model("resnet50", 10, image_size=224, stem="imagenet").conv1.stride == (2, 2)
    cfg = make_cfg(["model=resnet18", "data.image_size=224", f"data.root={tmp_path / 'nothing'}",
                    "data.download=false", "trainer.epochs=1"])
    assert run_job(cfg, tmp_path / "job", [], {}, "job") == "failed"
    error = json.loads((tmp_path / "job" / "results.json").read_text())["error"]
    assert "model.stem=imagenet" in error and "cifar-10" not in error.lower()    # refused before any data


def test_torch_range_admits_only_versions_with_fused_sgd():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_dep = next(d for d in deps if d.startswith("torch>"))
    low = tuple(int(x) for x in re.search(r">=\s*([\d.]+)", torch_dep).group(1).split(".")[:2])
    assert low >= (2, 3), torch_dep         # SGD(fused=...) exists from torch 2.3 on


@pytest.mark.parametrize("capability,expected", [((7, 0), "fp32"), ((7, 5), "fp32"), ((8, 0), "bf16"), ((9, 0), "bf16")])
def test_precision_auto_on_cuda_needs_compute_capability_8(monkeypatch, capability, expected):
    """torch.cuda.is_bf16_supported() says yes on a V100 or T4 (emulated bf16, slower than fp32)."""
    asked = []
    monkeypatch.setattr("torch.cuda.get_device_capability", lambda d=None: asked.append(d) or capability)
    assert resolve_precision("auto", torch.device("cuda", 1)) == expected
    assert asked == [torch.device("cuda", 1)]           # the run's device, not the current one


def test_device_index_beyond_the_gpu_count_names_the_count(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 2)
    monkeypatch.setattr("torch.cuda.current_device", lambda: 0)
    with pytest.raises(TrainingError, match=r"cuda:7 but this machine has 2 CUDA device\(s\), cuda:0 to cuda:1"):
        resolve_device("cuda:7")
    assert resolve_device("cuda") == torch.device("cuda", 0)
    if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        with pytest.raises(TrainingError, match="no MPS device"):
            resolve_device("mps")


def test_auto_on_the_cpu_with_cuda_visible_devices_empty_warns(monkeypatch, caplog):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with caplog.at_level("WARNING", logger="ablate"):
        assert resolve_device("auto") == torch.device("cpu")
    assert "CUDA_VISIBLE_DEVICES is set but empty" in caplog.text and "gpus_per_node" in caplog.text


def test_eval_batch_scales_with_image_area():
    s = TrainSettings(batch_size=128, eval_batch_size=1024)
    assert eval_batch(s, 32) == 1024 and eval_batch(s, 64) == 256 and eval_batch(s, 224) == 128
    assert eval_batch(TrainSettings(batch_size=16, eval_batch_size=1024), 224) == 20


def test_out_of_memory_while_evaluating_names_the_eval_batch(make_cfg, tmp_path, monkeypatch):
    def no_memory(*a, **k):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")

    monkeypatch.setattr(sys.modules["ablate.core.train"], "predict", no_memory)   # the module, not train()
    cfg = make_cfg([*TINY, "trainer.epochs=1", "data.num_train=256", "data.val_size=64", "data.num_test=64"])
    assert run_job(cfg, tmp_path / "job", [], {}, "job") == "failed"
    error = json.loads((tmp_path / "job" / "results.json").read_text())["error"]
    assert "lower trainer.eval_batch_size" in error and "trainer.batch_size" not in error


def test_deterministic_sets_the_cublas_workspace_and_tf32_stays_off(make_cfg, tmp_path, monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    torch.backends.cuda.matmul.allow_tf32 = True
    cfg = make_cfg([*TINY, "trainer.epochs=1", "trainer.deterministic=true", "data.num_train=256",
                    "data.val_size=64", "data.num_test=64"])
    try:
        assert run_job(cfg, tmp_path / "job", [], {}, "job") == "completed"
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        assert torch.backends.cuda.matmul.allow_tf32 is False and torch.backends.cudnn.allow_tf32 is False
    finally:
        torch.use_deterministic_algorithms(False)


def test_report_warns_when_one_configuration_mixes_precisions_or_devices(tmp_path):
    sweep = write_sweep(tmp_path / "sweep", {"loss=ce": BASE[:3], "loss=label_smoothing": AUG[:3]})
    for job in sorted(sweep.glob("loss=ce,*")):
        rec = json.loads((job / "results.json").read_text())
        gpu = job.name.endswith("seed=0")
        rec["env"].update(precision="bf16" if gpu else "fp32", device="cuda:0" if gpu else "cpu")
        (job / "results.json").write_text(json.dumps(rec))
    text = (write_report(sweep) / "report.md").read_text()
    assert "**Warning:** the seeds of `loss=ce` (precision bf16, fp32; device cpu, cuda)" in text
    assert "loss=label_smoothing` (" not in text


def test_a_fused_job_resumed_from_an_unfused_checkpoint_runs_and_records_fused():
    """Optimizer.load_state_dict copies every param_group key, "fused" included: a job asked to run fused,
    resumed from an unfused run's checkpoint, ran unfused while its record said fused (and the reverse)."""
    state = state_after(lambda on_epoch: two_phase(False, on_epoch=on_epoch), 1)
    assert state["optimizer"]["param_groups"][0]["fused"] in (None, False)
    seen = {}

    def look(row, state):
        seen.setdefault("fused", [g.get("fused") for g in state.optimizer.param_groups])

    resumed = two_phase(True, resume=state, on_epoch=look)
    assert resumed.optimizer_fused and seen["fused"] and all(seen["fused"])
    unfused = two_phase(False, resume=state)
    assert not unfused.optimizer_fused
