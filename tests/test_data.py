"""Loaders: the official CIFAR pickle layout, a user's image folders, synthetic data, the val split."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from ablate.data import load_dataset, make_splits
from ablate.data.dataset import stratified_take
from ablate.data.synthetic import load_synthetic
from ablate.errors import ConfigError, DataError
from PIL import Image
from disk_data import write_fake_cifar10, write_imagefolder


def test_cifar10_reads_the_official_layout_without_md5(tmp_path):
    folder = write_fake_cifar10(tmp_path)
    data = load_dataset("cifar10", root=str(tmp_path), download=False)
    assert data.train_x.shape == (100, 3, 32, 32) and data.train_x.dtype == torch.uint8
    assert data.test_x.shape == (20, 3, 32, 32) and data.class_names[3] == "c3"
    with open(folder / "data_batch_1", "rb") as f:
        raw = pickle.load(f)[b"data"][0]
    # channel-planar rows: the first 1024 values are the red plane
    assert torch.equal(data.train_x[0, 0].flatten(), torch.from_numpy(raw[:1024]))


def test_missing_dataset_with_download_off_names_the_fix(tmp_path):
    with pytest.raises(DataError, match="does not exist.*data.root.*data.download=true"):
        load_dataset("cifar10", root=str(tmp_path / "nowhere"), download=False)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_shape"])
def test_corrupt_batch_file_names_the_file(tmp_path, damage):
    folder = write_fake_cifar10(tmp_path)
    path = folder / "data_batch_3"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:500])
    elif damage == "garbage":
        path.write_bytes(b"not a pickle at all")
    else:
        with open(path, "wb") as f:
            pickle.dump({b"data": np.zeros((5, 100), np.uint8), b"labels": [0] * 5}, f)
    with pytest.raises(DataError, match="data_batch_3"):
        load_dataset("cifar10", root=str(tmp_path), download=False)


def test_imagefolder_loads_class_folders(tmp_path):
    write_imagefolder(tmp_path)
    data = load_dataset("imagefolder", root=str(tmp_path), image_size=32)
    assert data.class_names == ["cat", "dog"]
    assert data.train_x.shape == (12, 3, 32, 32) and data.test_x.shape == (4, 3, 32, 32)
    assert data.train_y.tolist() == [0] * 6 + [1] * 6
    assert int(data.train_x[7, 1, 0, 0]) == 200


def test_imagefolder_wrong_size_names_the_file_and_the_fix(tmp_path):
    write_imagefolder(tmp_path, bad=(40, 30))
    with pytest.raises(DataError, match=r"odd.png is 40x30, expected 32x32.*data.resize=true"):
        load_dataset("imagefolder", root=str(tmp_path), image_size=32)
    data = load_dataset("imagefolder", root=str(tmp_path), image_size=32, resize=True)
    assert data.train_x.shape == (13, 3, 32, 32)


def test_imagefolder_missing_split_folder(tmp_path):
    (tmp_path / "train" / "a").mkdir(parents=True)
    with pytest.raises(DataError, match="test"):
        load_dataset("imagefolder", root=str(tmp_path))


def test_synthetic_is_seeded_and_cifar_shaped():
    a, b = load_synthetic(num_train=100, num_test=20), load_synthetic(num_train=100, num_test=20)
    assert torch.equal(a.train_x, b.train_x) and a.train_x.shape == (100, 3, 32, 32)
    assert sorted(a.train_y.unique().tolist()) == list(range(10))


def test_val_split_is_stratified_seeded_and_disjoint():
    data = load_synthetic(num_train=1000, num_test=10)
    s1 = make_splits(data, 100, None, split_seed=0)
    s2 = make_splits(data, 100, None, split_seed=0)
    assert torch.equal(s1.val_x, s2.val_x) and len(s1.train_y) == 900
    assert torch.bincount(s1.val_y).tolist() == [10] * 10
    # disjoint: no val image appears in train (synthetic images are all distinct)
    train_set = {bytes(x.numpy()) for x in s1.train_x}
    assert not any(bytes(x.numpy()) in train_set for x in s1.val_x)
    s3 = make_splits(data, 100, 250, split_seed=0)
    assert len(s3.train_y) == 250 and torch.equal(s3.val_x, s1.val_x)
    assert torch.bincount(s3.train_y).tolist() == [25] * 10


def test_split_sizes_out_of_range_name_the_key():
    data = load_synthetic(num_train=100, num_test=10)
    with pytest.raises(ConfigError, match="data.val_size"):
        make_splits(data, 100, None, 0)
    with pytest.raises(ConfigError, match="data.train_subset"):
        make_splits(data, 10, 500, 0)


def test_stratified_take_rounds_to_the_exact_count():
    labels = np.array([0] * 7 + [1] * 5 + [2] * 3)
    idx = stratified_take(labels, 8, np.random.default_rng(0))
    assert len(idx) == 8 and len(set(idx)) == 8


def test_cifar100_reads_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in (("train", 30), ("test", 10)):
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         b"fine_labels": [i % 100 for i in range(n)], b"coarse_labels": [0] * n}, f)
    with open(folder / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": [f"f{i}".encode() for i in range(100)]}, f)
    data = load_dataset("cifar100", root=str(tmp_path), download=False)
    assert data.train_x.shape == (30, 3, 32, 32) and len(data.class_names) == 100
    assert data.train_y.tolist()[:3] == [0, 1, 2]


def test_download_when_missing_fetches_the_official_archive_with_md5(tmp_path, monkeypatch):
    calls = []

    def fake_download(url, root, filename, md5):
        calls.append((url, filename, md5))
        write_fake_cifar10(tmp_path)

    monkeypatch.setattr("torchvision.datasets.utils.download_and_extract_archive", fake_download)
    data = load_dataset("cifar10", root=str(tmp_path), download=True)
    assert calls == [("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "cifar-10-python.tar.gz",
                      "c58f30108f718f92721af3b95e74349a")]
    assert len(data.train_y) == 100
    load_dataset("cifar10", root=str(tmp_path), download=True)
    assert len(calls) == 1   # present now: read, not fetched again


def test_failed_download_names_the_fix(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr("torchvision.datasets.utils.download_and_extract_archive", offline)
    with pytest.raises(DataError, match="could not download.*data.download=false"):
        load_dataset("cifar10", root=str(tmp_path), download=True)


def _one_image_folder(tmp_path, image):
    """An image folder of two classes whose first training image is `image` (saved as its own format)."""
    write_imagefolder(tmp_path)
    name, im = image
    im.save(tmp_path / "train" / "cat" / name)
    return tmp_path


@pytest.mark.parametrize("name,make,words", [
    ("alpha.png", lambda: Image.new("RGBA", (32, 32), (10, 20, 30, 128)), ["alpha.png", "transparent", "flatten"]),
    ("deep.png", lambda: Image.new("I;16", (32, 32), 4000), ["deep.png", "8 bits", "clip"]),
    ("print.tif", lambda: Image.new("CMYK", (32, 32), (0, 50, 50, 0)), ["print.tif", "CMYK", "colour-managed"]),
])
def test_images_a_conversion_would_distort_are_refused_by_name(tmp_path, name, make, words):

    _one_image_folder(tmp_path, (name, make()))
    with pytest.raises(DataError) as e:
        load_dataset("imagefolder", root=str(tmp_path), image_size=32)
    for w in words:
        assert w in str(e.value), str(e.value)


def test_images_read_faithfully_in_other_modes(tmp_path):
    """Grey, palette, opaque RGBA and a phone's rotated JPEG load as they are shown."""
    write_imagefolder(tmp_path)
    d = tmp_path / "train" / "cat"
    Image.new("L", (32, 32), 77).save(d / "grey.png")
    Image.new("RGBA", (32, 32), (1, 2, 3, 255)).save(d / "opaque.png")
    palette = Image.new("P", (32, 32), 1)
    palette.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    palette.save(d / "palette.png")
    wide = Image.new("RGB", (32, 16), (0, 0, 0))
    wide.paste((255, 255, 255), (0, 0, 16, 16))                   # white left half
    exif = Image.Exif()
    exif[0x0112] = 6                                              # orientation: rotate 90 degrees clockwise
    wide.resize((32, 32)).save(d / "phone.jpg", exif=exif.tobytes(), quality=95)
    data = load_dataset("imagefolder", root=str(tmp_path), image_size=32)
    names = sorted(p.name for p in d.iterdir())
    x = {n: data.train_x[i] for i, n in enumerate(names)}
    assert x["grey.png"].unique().tolist() == [77]
    assert x["opaque.png"][:, 0, 0].tolist() == [1, 2, 3]
    assert x["palette.png"][:, 5, 5].tolist() == [200, 0, 0]
    # shown rotated: the white half is now on top
    assert x["phone.jpg"][0, :10].float().mean() > 200 and x["phone.jpg"][0, -10:].float().mean() < 50


def test_a_dataset_of_one_class_is_refused(tmp_path):
    from ablate.data.dataset import check_class_counts
    write_imagefolder(tmp_path)
    import shutil
    shutil.rmtree(tmp_path / "train" / "dog")
    shutil.rmtree(tmp_path / "test" / "dog")
    data = load_dataset("imagefolder", root=str(tmp_path), image_size=32)
    with pytest.raises(DataError, match="at least 2"):
        check_class_counts(make_splits(data, 2, None, 0), 2)


def test_a_class_without_test_images_has_no_accuracy_not_zero(tmp_path):
    from ablate.core.evaluate import split_metrics
    from ablate.data.dataset import check_class_counts
    write_imagefolder(tmp_path)
    for f in (tmp_path / "test" / "dog").iterdir():
        f.unlink()
    data = load_dataset("imagefolder", root=str(tmp_path), image_size=32)
    warnings = check_class_counts(make_splits(data, 2, None, 0), 2)
    assert any("dog has no test images" in w and "not 0" in w for w in warnings)
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    m = split_metrics(logits, torch.tensor([0, 0]), 2)
    assert m["per_class_acc"][0] == 0.5 and m["per_class_acc"][1] != m["per_class_acc"][1]   # NaN, not 0
