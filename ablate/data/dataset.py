"""The in-memory dataset every loader returns, and the train/val split carved out of it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ablate.errors import ConfigError, DataError


@dataclass
class ImageData:
    """A whole dataset held as uint8 tensors: images (N, C, H, W), labels (N,) int64."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    class_names: list[str]

    def __post_init__(self):
        for name in ("train_x", "test_x"):
            x = getattr(self, name)
            if x.dtype != torch.uint8 or x.ndim != 4:
                raise ValueError(f"{name} must be uint8 (N, C, H, W), got {x.dtype} {tuple(x.shape)}")


@dataclass
class Splits:
    """Train / val / test tensors (uint8 images, int64 labels) as the training core consumes them."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to(self, device) -> "Splits":
        move = {k: getattr(self, k).to(device) for k in
                ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")}
        return Splits(**move, class_names=self.class_names)


def stratified_take(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of n items drawn without replacement so that every class keeps its share."""
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts / counts.sum() * n).astype(int)
    # hand out what rounding left over to the classes with the largest remainders
    remainder = counts / counts.sum() * n - quota
    for i in np.argsort(-remainder)[: n - quota.sum()]:
        quota[i] += 1
    picked = [rng.choice(np.flatnonzero(labels == c), size=q, replace=False)
              for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=int)


def make_splits(data: ImageData, val_size: int, train_subset: int | None, split_seed: int) -> Splits:
    """Carve a stratified, seeded validation split out of train; optionally subsample what remains."""
    n = len(data.train_y)
    if not 0 <= val_size < n:
        raise ConfigError(f"data.val_size={val_size} must be in [0, {n - 1}] for a training set of {n} "
                          f"images: set data.val_size lower (0 disables validation)")
    labels = data.train_y.numpy()
    rng = np.random.default_rng(split_seed)
    val_idx = stratified_take(labels, val_size, rng)
    rest = np.setdiff1d(np.arange(n), val_idx)
    if train_subset is not None:
        if not 0 < train_subset <= len(rest):
            raise ConfigError(f"data.train_subset={train_subset} must be in [1, {len(rest)}] "
                              f"(training images left after data.val_size={val_size}): lower it or set null")
        classes = len(np.unique(labels[rest]))
        if train_subset < classes:
            raise ConfigError(f"data.train_subset={train_subset} is smaller than the {classes} classes: a stratified "
                              f"subset needs at least one training image of each; set data.train_subset={classes} or "
                              f"more (null: the whole training split)")
        rest = rest[stratified_take(labels[rest], train_subset, rng)]
    val_t, rest_t = torch.from_numpy(val_idx), torch.from_numpy(rest)
    return Splits(data.train_x[rest_t], data.train_y[rest_t], data.train_x[val_t], data.train_y[val_t],
                  data.test_x, data.test_y, list(data.class_names))


FEW_IMAGES = 10   # a class with fewer training images than this gets a warning


def check_class_counts(splits: Splits, val_size: int) -> list[str]:
    """A class with no training images cannot be learned: an error naming it. Returns warnings for classes
    with fewer than FEW_IMAGES training images."""
    if splits.num_classes < 2:
        raise DataError(f"the dataset has {splits.num_classes} class ({', '.join(splits.class_names) or 'none'}): "
                        f"a classifier needs at least 2 (every test image would be right by construction): add a "
                        f"folder of images for another class (data=imagefolder: data.root/train/<class>/)")
    counts = torch.bincount(splits.train_y, minlength=splits.num_classes).tolist()
    in_val = torch.bincount(splits.val_y, minlength=splits.num_classes).tolist()
    empty = [name for name, c in zip(splits.class_names, counts) if c == 0]
    if empty:
        taken = [f"{name} ({v} in val)" for name, v in zip(splits.class_names, in_val) if name in empty and v]
        why = (f"; the validation split took all of {', '.join(taken)}: lower data.val_size (now {val_size}) or"
               if taken else ":")
        raise DataError(f"class(es) {', '.join(empty)} have no images in the train split, so the model cannot "
                        f"learn them{why} add training images for them (data=imagefolder: "
                        f"data.root/train/<class>/)")
    in_test = torch.bincount(splits.test_y, minlength=splits.num_classes).tolist()
    return [f"class {name} has only {c} training image(s): its accuracy will be noisy; add images"
            for name, c in zip(splits.class_names, counts) if c < FEW_IMAGES] + \
        [f"class {name} has no test images: its accuracy is not measured (null in the record, not 0); add "
         f"test images for it (data=imagefolder: data.root/test/{name}/)"
         for name, c in zip(splits.class_names, in_test) if c == 0]
