"""MNIST-family data from idx files: grey 28x28 images reach the models and the augmentations as they are."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from ablate.data import load_dataset
from ablate.data.augment import OPS, At, takes_at
from ablate.errors import ConfigError, DataError
from ablate.models import MODELS, build_model
from conftest import TINY


def write_idx(path, array, gz):
    head = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">i", d) for d in array.shape)
    data = head + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def write_mnist(root, n_train=300, n_test=100, gz=True, folder=None):
    rng = np.random.default_rng(0)
    base = root / folder / "raw" if folder else root
    base.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = np.arange(n) % 10
        x = rng.integers(0, 60, (n, 28, 28))
        for c in range(10):                       # a learnable bright bar per class
            x[y == c, 2 * c:2 * c + 3, :] = 250
        suffix = ".gz" if gz else ""
        write_idx(base / f"{prefix}-images-idx3-ubyte{suffix}", x, gz)
        write_idx(base / f"{prefix}-labels-idx1-ubyte{suffix}", y, gz)
    return root


@pytest.mark.parametrize("gz, folder", [(True, None), (False, None), (True, "FashionMNIST")])
def test_idx_files_load_as_grey_28x28(tmp_path, gz, folder):
    write_mnist(tmp_path, gz=gz, folder=folder)
    name = "fashion_mnist" if folder else "mnist"
    data = load_dataset(name, root=str(tmp_path), download=False)
    assert data.train_x.shape == (300, 1, 28, 28) and data.train_x.dtype == torch.uint8
    assert data.test_y.tolist()[:3] == [0, 1, 2] and len(data.class_names) == 10
    assert (data.class_names[9] == "Ankle boot") == (name == "fashion_mnist")


def test_missing_files_offline_name_the_files_and_the_fix(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*data.download=true"):
        load_dataset("mnist", root=str(tmp_path), download=False)

    def offline(*a, **k):
        raise OSError("no route to host")
    monkeypatch.setattr("torchvision.datasets.MNIST", offline)
    with pytest.raises(DataError, match="could not download mnist.*data.download=false"):
        load_dataset("mnist", root=str(tmp_path), download=True)


@pytest.mark.parametrize("name", [n for n in MODELS.names() if not n.startswith("vgg")])
def test_every_model_takes_grey_28x28_images(name):
    model = build_model(name, 10, image_size=28, in_channels=1).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_a_model_that_cannot_take_the_input_says_so():
    with pytest.raises(ConfigError, match="vgg16_bn halves the image five times.*28x28.*Fix"):
        build_model("vgg16_bn", 10, image_size=28, in_channels=1)


@pytest.mark.parametrize("op", OPS.names())
def test_every_augmentation_works_on_grey_batches(op):
    x = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)
    at = {"at": At.whole(x)} if takes_at(OPS[op]) else {}
    assert OPS[op](x, torch.Generator().manual_seed(0), **at).shape == x.shape


def test_mnist_end_to_end_with_enhanced_cnn(ablate_cli, tmp_path):
    write_mnist(tmp_path / "m")
    res = ablate_cli(["data=mnist", f"data.root={tmp_path / 'm'}", "data.download=false", "data.val_size=50",
                      "model=enhanced_cnn", "aug=cropflip_jitter", "trainer.epochs=3", "trainer.batch_size=32",
                      "trainer.progress=log", f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    import json
    rec = json.loads((tmp_path / "run" / "results.json").read_text())
    assert rec["status"] == "completed" and rec["metrics"]["test_acc"] > 0.5, rec["metrics"]["test_acc"]


def test_image_size_resizes_once_when_it_fits_else_each_batch(tmp_path):
    from ablate.data.resize import fit_image_size
    data = load_dataset("mnist", root=str(write_mnist(tmp_path)), download=False)
    once, per_batch = fit_image_size(data, 32)
    assert once.train_x.shape == (300, 1, 32, 32) and once.train_x.dtype == torch.uint8 and per_batch is None
    same, per_batch = fit_image_size(data, 224, budget=10 ** 6)
    assert same is data and per_batch == 224


@pytest.mark.parametrize("budget", [None, 10 ** 5], ids=["resized_once", "resized_per_batch"])
def test_grey_28x28_upsampled_for_vgg16(make_cfg, tmp_path, monkeypatch, budget):
    import json
    from ablate.job.run import run_job
    if budget:
        monkeypatch.setattr("ablate.data.resize.RESIZE_ONCE_BUDGET", budget)
        monkeypatch.setattr("ablate.data.resize.fit_image_size.__defaults__", (budget,))
    write_mnist(tmp_path / "m", n_train=120, n_test=40)
    cfg = make_cfg(["data=mnist", f"data.root={tmp_path / 'm'}", "data.download=false", "data.val_size=20",
                    "data.image_size=32", "model=vgg16_bn", "trainer.epochs=1", "trainer.batch_size=50"])
    assert run_job(cfg, tmp_path / "job", [], {}, "job") == "completed"
    rec = json.loads((tmp_path / "job" / "results.json").read_text())
    assert torch.load(tmp_path / "job" / "model.pt", weights_only=True)["image_size"] == 32
    assert rec["status"] == "completed"


def test_imagenet_normalisation_needs_colour(make_cfg, tmp_path):
    from ablate.job.run import run_job
    write_mnist(tmp_path / "m")
    cfg = make_cfg(["data=mnist", f"data.root={tmp_path / 'm'}", "data.download=false", "data.val_size=20",
                    "data.normalize=imagenet", *TINY[1:], "trainer.epochs=1"])
    assert run_job(cfg, tmp_path / "job", [], {}, "job") == "failed"
    assert "data.normalize=imagenet needs 3-channel" in (tmp_path / "job" / "results.json").read_text()
