"""Small datasets on disk in the layouts the loaders read, shared by the tests (no test file imports another)."""
from __future__ import annotations

import pickle

import numpy as np
from PIL import Image


def write_fake_cifar10(root, n_per_batch=20):
    """A tiny copy of the official cifar-10-batches-py layout (no md5 sums match, as with the offline copy)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
    for name in names:
        d = {b"data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
             b"labels": [int(v) for v in np.arange(n_per_batch) % 10], b"batch_label": name.encode()}
        with open(folder / name, "wb") as f:
            pickle.dump(d, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, f)
    return folder


def write_imagefolder(root, size=32, bad=None):
    for split, n in (("train", 6), ("test", 2)):
        for cls in ("cat", "dog"):
            d = root / split / cls
            d.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (size, size), (i * 20, 100 if cls == "cat" else 200, 0)).save(d / f"{i}.png")
    if bad:
        Image.new("RGB", bad, (0, 0, 0)).save(root / "train" / "dog" / "odd.png")
