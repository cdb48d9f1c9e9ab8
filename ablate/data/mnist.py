"""MNIST and Fashion-MNIST from the standard idx files (gzipped or not): 28x28, one channel.

Looked for in data.root itself and in data.root/<MNIST|FashionMNIST>/raw/ (torchvision's layout, which
data.download=true fills through torchvision's downloader).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from ablate.data.dataset import ImageData
from ablate.errors import DataError

FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
CLASSES = {"mnist": [str(d) for d in range(10)],
           "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                             "Bag", "Ankle boot"]}


def read_idx(path: Path) -> np.ndarray:
    """An idx file: two zero bytes, a type byte (0x08: unsigned byte), the number of dimensions, then each
    dimension as a big-endian int32, then the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
        if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
            raise ValueError("not an unsigned-byte idx file")
        ndim = raw[3]
        dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(tuple(int(d) for d in dims))
    except (OSError, ValueError, EOFError, IndexError) as e:
        raise DataError(f"{path} is not a readable idx file ({type(e).__name__}: {e}): delete it and download "
                        f"again (data.download=true), or replace it") from None


def find(root: Path, folder: str, stem: str) -> Path | None:
    for base in (root, root / folder / "raw", root / folder):
        for name in (stem, f"{stem}.gz"):
            if (base / name).is_file():
                return base / name
    return None


def _download(name: str, root: Path) -> None:
    import torchvision

    cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as e:  # noqa: BLE001 - offline, or a mirror down
        raise DataError(f"could not download {name} into {root} ({type(e).__name__}: {e}): connect to the "
                        f"internet, or put the four idx files ({', '.join(f for p in FILES.values() for f in p)}, "
                        f"gzipped or not) in {root} and set data.download=false") from None


def load_mnist_family(name: str, root: str | Path, download: bool = False) -> ImageData:
    root = Path(str(root)).expanduser()
    stems = [s for pair in FILES.values() for s in pair]
    if download and any(find(root, FOLDERS[name], s) is None for s in stems):
        _download(name, root)
    paths = {s: find(root, FOLDERS[name], s) for s in stems}
    missing = [s for s, p in paths.items() if p is None]
    if missing:
        raise DataError(f"{name}: {', '.join(missing)} not found in {root} or {root / FOLDERS[name] / 'raw'}: "
                        f"set data.root to the folder that holds the idx files, or data.download=true")
    split = {}
    for part, (images, labels) in FILES.items():
        x, y = read_idx(paths[images]), read_idx(paths[labels])
        if x.ndim != 3 or len(x) != len(y):
            raise DataError(f"{paths[images]} and {paths[labels]} do not match ({x.shape} images, {len(y)} "
                            f"labels): replace them with a matching pair")
        split[part] = (torch.from_numpy(x.copy())[:, None], torch.from_numpy(y.astype(np.int64)))
    return ImageData(*split["train"], *split["test"], list(CLASSES[name]))
