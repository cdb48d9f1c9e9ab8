"""Models: the shapes the ladder and the recipes rely on, transfer-learning options, weights offline."""
from __future__ import annotations

import urllib.error

import pytest
import torch
import torch.nn as nn

from ablate.errors import ConfigError, ModelError
from ablate.models import build_model


def test_small_cnn_is_four_convs_with_batchnorm_two_pools_gap_and_one_linear():
    m = build_model("small_cnn", 10)
    kinds = [type(l) for l in m]
    assert kinds.count(nn.Conv2d) == 4 and kinds.count(nn.BatchNorm2d) == 4
    assert kinds.count(nn.MaxPool2d) == 2 and kinds.count(nn.Linear) == 1
    assert nn.AdaptiveAvgPool2d in kinds


def test_simple_cnn_has_no_batchnorm():
    m = build_model("simple_cnn", 10)
    assert not any(isinstance(l, nn.BatchNorm2d) for l in m.modules())
    assert sum(isinstance(l, nn.Conv2d) for l in m.modules()) == 2


def test_resnet18_has_the_cifar_stem():
    m = build_model("resnet18", 10)
    assert m.conv1.kernel_size == (3, 3) and m.conv1.stride == (1, 1)
    assert isinstance(m.maxpool, nn.Identity) and m.fc.out_features == 10
    feats = {}
    m.layer1.register_forward_hook(lambda mod, i, o: feats.update(layer1=o.shape))
    m.eval()(torch.randn(1, 3, 32, 32))
    assert feats["layer1"][-2:] == (32, 32)      # full resolution after the stem


def test_freeze_trains_the_head_only():
    m = build_model("vgg16_bn", 10, freeze=True)
    trainable = [n for n, p in m.named_parameters() if p.requires_grad]
    assert trainable == ["classifier.weight", "classifier.bias"]


def test_pretrained_weights_offline_give_a_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr("torchvision.models.get_model", offline)
    with pytest.raises(ModelError, match="could not fetch pretrained weights for resnet50.*model.pretrained=false"):
        build_model("resnet50", 10, pretrained=True)


def test_pretrained_resnet_keeps_the_imagenet_stem_with_stride_one(monkeypatch):
    import torchvision
    real = torchvision.models.get_model
    monkeypatch.setattr("torchvision.models.get_model", lambda name, weights=None: real(name, weights=None))
    m = build_model("resnet50", 10, pretrained=True, freeze=True)
    assert m.conv1.kernel_size == (7, 7) and m.conv1.stride == (1, 1)
    assert [n for n, p in m.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]


def test_unknown_model_names_the_choices():
    with pytest.raises(ConfigError, match="small_cnn"):
        build_model("resnet7", 10)


def test_timm_models_by_name(make_cfg, tmp_path):
    """model=timm builds any timm architecture for the data's classes and channels; a misspelled one is refused
    before data loads with names to pick from."""
    import json
    pytest.importorskip("timm")
    from ablate.errors import ConfigError
    from ablate.job.run import run_job
    m = build_model("timm", 7, in_channels=1, arch="test_efficientnet")
    assert m(torch.randn(2, 1, 32, 32)).shape == (2, 7)
    frozen = build_model("timm", 7, arch="test_efficientnet", freeze=True)
    assert {n for n, p in frozen.named_parameters() if p.requires_grad} == {"classifier.weight", "classifier.bias"}
    with pytest.raises(ConfigError, match="model.arch='resnet_18' is not a timm model"):
        build_model("timm", 10, arch="resnet_18")
    bad = make_cfg(["model=timm", "model.arch=resnet_18", f"data.root={tmp_path / 'none'}", "data.download=false"])
    assert run_job(bad, tmp_path / "bad", [], {}, "bad") == "failed"           # refused before any data loads
    assert "is not a timm model" in json.loads((tmp_path / "bad" / "results.json").read_text())["error"]
    cfg = make_cfg(["data=synthetic", "model=timm", "model.arch=test_efficientnet", "trainer.epochs=1",
                    "trainer.batch_size=64", "trainer.device=cpu", "data.num_train=256", "data.val_size=64",
                    "data.num_test=64", "trainer.progress=log"])
    assert run_job(cfg, tmp_path / "job", [], {}, "job") == "completed"
    assert json.loads((tmp_path / "job" / "results.json").read_text())["config"]["model"]["arch"] == "test_efficientnet"
