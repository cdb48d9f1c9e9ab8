"""CIFAR-10 / CIFAR-100 in the official python-pickle layout.

Download fetches the official archive and checks its md5 (torchvision's downloader). Reading does not
check md5 sums, so a local copy in the same layout (for example one re-encoded offline) loads too.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ablate.data.dataset import ImageData
from ablate.errors import DataError


@dataclass(frozen=True)
class CifarLayout:
    folder: str
    url: str
    archive: str
    md5: str
    train_files: tuple[str, ...]
    test_file: str
    meta_file: str
    label_key: bytes
    names_key: bytes


LAYOUTS = {
    "cifar10": CifarLayout(
        "cifar-10-batches-py", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
        tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta",
        b"labels", b"label_names"),
    "cifar100": CifarLayout(
        "cifar-100-python", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85",
        ("train",), "test", "meta", b"fine_labels", b"fine_label_names"),
}


def _read_pickle(path: Path, layout: CifarLayout, fix: str) -> dict:
    if not path.is_file():
        raise DataError(f"{path} is missing: {fix}")
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except Exception as e:  # truncated or corrupt files raise many different errors
        raise DataError(f"{path} is truncated or corrupt ({type(e).__name__}: {e}): {fix}") from None


def _read_batch(path: Path, layout: CifarLayout, fix: str) -> tuple[np.ndarray, np.ndarray]:
    d = _read_pickle(path, layout, fix)
    try:
        data = np.asarray(d[b"data"], dtype=np.uint8)
        labels = np.asarray(d[layout.label_key], dtype=np.int64)
    except KeyError as e:
        raise DataError(f"{path} has no {e.args[0]!r} entry, so it is not a {layout.folder} batch: {fix}") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(f"{path} holds data of shape {data.shape} with {len(labels)} labels, expected "
                        f"(N, 3072) with N labels: {fix}")
    return data.reshape(-1, 3, 32, 32), labels


def download(root: Path, layout: CifarLayout) -> None:
    from torchvision.datasets.utils import download_and_extract_archive

    try:
        download_and_extract_archive(layout.url, str(root), filename=layout.archive, md5=layout.md5)
    except Exception as e:
        raise DataError(f"could not download {layout.url} into {root} ({type(e).__name__}: {e}): check the "
                        f"internet connection, or download it by hand and set data.root to the folder that "
                        f"holds {layout.folder}/ with data.download=false") from None


def load_cifar(name: str, root: str | Path, download_missing: bool) -> ImageData:
    layout = LAYOUTS[name]
    root = Path(root).expanduser()
    folder = root / layout.folder
    if not folder.is_dir():
        if not download_missing:
            raise DataError(f"{folder} does not exist: set data.root to the folder that holds {layout.folder}/, "
                            f"or set data.download=true to fetch the official archive")
        download(root, layout)
    fix = (f"delete {folder} and run again with data.download=true, or restore the file "
           f"from your copy of {layout.folder}")
    parts = [_read_batch(folder / f, layout, fix) for f in layout.train_files]
    train_x = np.concatenate([p[0] for p in parts])
    train_y = np.concatenate([p[1] for p in parts])
    test_x, test_y = _read_batch(folder / layout.test_file, layout, fix)
    meta = _read_pickle(folder / layout.meta_file, layout, fix)
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(layout.names_key, [])]
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    if len(names) < num_classes:
        raise DataError(f"{folder / layout.meta_file} lists {len(names)} class names for {num_classes} "
                        f"classes: {fix}")
    return ImageData(torch.from_numpy(train_x), torch.from_numpy(train_y),
                     torch.from_numpy(test_x), torch.from_numpy(test_y), names)
