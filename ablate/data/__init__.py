"""Datasets as uint8 tensors (N, C, H, W) plus labels and class names; GPU-resident batch augmentation."""
from ablate.data.dataset import ImageData, Splits, make_splits
from ablate.data.registry import load_dataset

__all__ = ["ImageData", "Splits", "make_splits", "load_dataset"]
