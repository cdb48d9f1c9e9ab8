"""Transfer learning: freezing by parts, frozen BatchNorm kept in eval mode, two phases in one run, ImageNet
weights from a file, the stem and head options."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torchvision

from ablate.core import OptimSettings, TrainSettings, train
from ablate.data import make_splits
from ablate.data.synthetic import load_synthetic
from ablate.errors import ConfigError, ModelError
from ablate.models import build_model


def trainable(m):
    return {n.split(".")[0] for n, p in m.named_parameters() if p.requires_grad}


def test_freeze_named_parts_and_unknown_parts():
    m = build_model("resnet18", 10, freeze=["conv1", "bn1", "layer1"])
    assert trainable(m) == {"layer2", "layer3", "layer4", "fc"}
    with pytest.raises(ConfigError, match="layer9.*conv1.*layer4"):
        build_model("resnet18", 10, freeze=["layer9"])
    with pytest.raises(ConfigError, match="model.freeze must be true, false or a list"):
        build_model("resnet18", 10, freeze="partial")
    assert trainable(build_model("vgg16", 10, freeze=True)) == {"classifier"}


def test_stem_and_head_options():
    m = build_model("resnet18", 10, stem="imagenet")
    assert m.conv1.kernel_size == (7, 7) and m.conv1.stride == (2, 2) and isinstance(m.maxpool, nn.MaxPool2d)
    v = build_model("vgg16", 10, image_size=64, head="flatten_dense", hidden=128)
    assert v.classifier[0].in_features == 512 * 2 * 2 and v.classifier[-1].out_features == 10
    assert v.eval()(torch.randn(2, 3, 64, 64)).shape == (2, 10)
    with pytest.raises(ConfigError, match="model.stem must be one of 'cifar', 'imagenet', got 'tiny'"):
        build_model("resnet18", 10, stem="tiny")


def test_pretrained_weights_from_a_file(tmp_path):
    torch.manual_seed(3)
    saved = torchvision.models.resnet18().state_dict()
    torch.save(saved, tmp_path / "r18.pth")
    m = build_model("resnet18", 10, pretrained=str(tmp_path / "r18.pth"))
    assert torch.equal(m.layer1[0].conv1.weight, saved["layer1.0.conv1.weight"])
    with pytest.raises(ModelError, match="no such file: put the resnet18 ImageNet weights there"):
        build_model("resnet18", 10, pretrained=str(tmp_path / "missing.pth"))


def two_phase_run(unfreeze_at, epochs=2):
    torch.manual_seed(0)
    splits = make_splits(load_synthetic(num_train=192, num_test=32, noise=1.0), 32, None, 0)
    model = build_model("resnet18", 10, freeze=True)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    bn_stats = model.bn1.running_mean.clone()
    s = TrainSettings(epochs=epochs, batch_size=64, device="cpu", optim=OptimSettings(lr=0.05, momentum=0.9),
                      unfreeze_at=unfreeze_at, unfreeze_lr_factor=0.1, tta=False)
    seen = {}

    def on_epoch(row, state):
        seen[state.epoch] = {n for n, p in state.model.named_parameters() if not torch.equal(p, before[n])}
        seen[f"bn{state.epoch}"] = torch.equal(state.model.bn1.running_mean, bn_stats)

    result = train(model, splits, s, on_epoch=on_epoch)
    return result, seen


def test_two_phases_in_one_run_head_first_then_everything_at_a_lower_lr():
    result, seen = two_phase_run(unfreeze_at=1)
    assert seen[1] == {"fc.weight", "fc.bias"}               # phase 1: the head only
    assert seen["bn1"]                                       # frozen BatchNorm kept its running statistics
    assert "layer1.0.conv1.weight" in seen[2] and not seen["bn2"]
    lrs = [r["lr"] for r in result.history]
    assert lrs[1] == pytest.approx(0.1 * lrs[0])             # constant schedule: phase 2 at a tenth


def test_two_phase_run_resumes_into_phase_two_exactly():
    import io
    whole, _ = two_phase_run(unfreeze_at=1, epochs=3)
    torch.manual_seed(0)
    splits = make_splits(load_synthetic(num_train=192, num_test=32, noise=1.0), 32, None, 0)
    s = TrainSettings(epochs=3, batch_size=64, device="cpu", optim=OptimSettings(lr=0.05, momentum=0.9),
                      unfreeze_at=1, unfreeze_lr_factor=0.1, tta=False)
    saved = {}

    def stop_after_2(row, state):
        if state.epoch == 2:
            buf = io.BytesIO()
            torch.save(state.state_dict(), buf)
            saved["state"] = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(build_model("resnet18", 10, freeze=True), splits, s, on_epoch=stop_after_2)
    resumed = train(build_model("resnet18", 10, freeze=True), splits, s, resume=saved["state"])
    assert resumed.metrics["test_acc"] == whole.metrics["test_acc"]
    assert resumed.metrics["test_nll"] == whole.metrics["test_nll"]
