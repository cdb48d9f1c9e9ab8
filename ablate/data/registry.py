"""Datasets built by name (the `data` config group): each is a function registered with @register_dataset
that takes the group's own keys and returns an ImageData (uint8 images, labels, class names)."""
from __future__ import annotations

from ablate.data.dataset import ImageData
from ablate.registry import Registry

DATASETS = Registry("dataset", "data.name", "ablate/data/registry.py (with @register_dataset) and conf/data/")
register_dataset = DATASETS.register
SPLIT_KEYS = ("val_size", "split_seed", "train_subset")   # read by make_splits, not by a loader
CORE_KEYS = ("normalize",)                                # read by the training core


def needs_root(name: str) -> bool:
    """Whether the dataset reads files: its loader's `root` parameter has no default."""
    import inspect
    param = inspect.signature(DATASETS.get(name)).parameters.get("root")
    return param is not None and param.default is inspect.Parameter.empty


def load_dataset(name: str, **cfg) -> ImageData:
    """The dataset at data.image_size when it fits in memory that way (see load_dataset_for_training)."""
    return load_dataset_for_training(name, **cfg)[0]


def load_dataset_for_training(name: str, resize_budget: int | None = None, **cfg) -> tuple[ImageData, int | None]:
    """The dataset, and the size the core must resize each batch to (None when the images already have
    data.image_size: resized once at load when they fit in resize_budget bytes, the device's budget for resident
    images). A loader that takes image_size itself (imagefolder, synthetic) makes its images at it; the core
    refuses data that does not fit the device, naming data.image_size."""
    from ablate.data.resize import RESIZE_ONCE_BUDGET, fit_image_size

    params = {k: v for k, v in cfg.items() if k not in SPLIT_KEYS + CORE_KEYS}
    size = params.get("image_size")
    if DATASETS.accepts(name, "image_size"):
        if size is None:
            params.pop("image_size", None)
        return DATASETS.build(name, **params), None
    params.pop("image_size", None)
    return fit_image_size(DATASETS.build(name, **params), None if size is None else int(size),
                          RESIZE_ONCE_BUDGET if resize_budget is None else resize_budget)


@register_dataset("cifar10")
def cifar10(root: str, download: bool = False) -> ImageData:
    from ablate.data.cifar import load_cifar
    return load_cifar("cifar10", root, bool(download))


@register_dataset("cifar100")
def cifar100(root: str, download: bool = False) -> ImageData:
    from ablate.data.cifar import load_cifar
    return load_cifar("cifar100", root, bool(download))


@register_dataset("mnist")
def mnist(root: str, download: bool = False) -> ImageData:
    from ablate.data.mnist import load_mnist_family
    return load_mnist_family("mnist", root, bool(download))


@register_dataset("fashion_mnist")
def fashion_mnist(root: str, download: bool = False) -> ImageData:
    from ablate.data.mnist import load_mnist_family
    return load_mnist_family("fashion_mnist", root, bool(download))


@register_dataset("imagefolder")
def imagefolder(root: str, image_size: int = 32, resize: bool = False, download: bool = False) -> ImageData:
    from ablate.data.imagefolder import load_imagefolder
    return load_imagefolder(root, int(image_size), bool(resize))


@register_dataset("synthetic")
def synthetic(num_train: int = 2000, num_test: int = 500, num_classes: int = 10, image_size: int = 32,
              noise: float = 1.5, root: str | None = None, download: bool = False) -> ImageData:
    from ablate.data.synthetic import load_synthetic
    return load_synthetic(num_train, num_test, num_classes, image_size, noise)
