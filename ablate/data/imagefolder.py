"""A user's own dataset: root/train/<class>/<image> and root/test/<class>/<image>."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from ablate.data.dataset import ImageData
from ablate.errors import DataError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
AS_RGB = {"RGB", "L", "1", "YCbCr", "P"}           # modes whose RGB conversion keeps every pixel as it is shown
WITH_ALPHA = {"RGBA", "LA", "PA", "RGBa", "La"}


def faithful_rgb(im: Image.Image, path: Path) -> Image.Image:
    """The image as 8-bit RGB, as a viewer shows it (EXIF orientation applied), or a DataError when the
    conversion would change it: transparent pixels, more than 8 bits per channel, CMYK, several frames."""
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        raise DataError(f"{path} has {frames} frames (an animation): ablate reads one image per file; save the "
                        f"frame you mean as a file of its own")
    im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode == "P" and "transparency" in im.info:
        mode = "PA"
    if mode in WITH_ALPHA:
        rgba = im.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:
            raise DataError(f"{path} has transparent pixels (mode {im.mode}): dropping them would change what it "
                            f"shows; flatten it onto a background first (e.g. white)")
        return rgba.convert("RGB")
    if mode in AS_RGB:
        return im.convert("RGB")
    if mode.startswith("I") or mode == "F":
        raise DataError(f"{path} has more than 8 bits per channel (mode {mode}): converting it would clip every "
                        f"value above 255; convert it to 8 bits first, scaling its range to 0-255")
    raise DataError(f"{path} is a {mode} image, which has no faithful RGB conversion here: convert it to 8-bit "
                    f"RGB first (for CMYK, with a colour-managed tool)")


def _read_split(folder: Path, classes: list[str], size: int, resize: bool) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for label, cls in enumerate(classes):
        cdir = folder / cls
        files = sorted(p for p in cdir.iterdir() if p.suffix.lower() in EXTENSIONS) if cdir.is_dir() else []
        for path in files:
            try:
                with Image.open(path) as im:
                    im = faithful_rgb(im, path)
                    if im.size != (size, size):
                        if not resize:
                            raise DataError(
                                f"{path} is {im.size[0]}x{im.size[1]}, expected {size}x{size}: resize your "
                                f"images, set data.image_size, or set data.resize=true")
                        im = im.resize((size, size), Image.BILINEAR)
                    images.append(np.asarray(im, dtype=np.uint8))
            except DataError:
                raise
            except Exception as e:
                raise DataError(f"{path} cannot be read as an image ({type(e).__name__}: {e}): "
                                f"remove or replace the file") from None
            labels.append(label)
    if not images:
        raise DataError(f"{folder} holds no images in class folders {classes}: put images under "
                        f"{folder}/<class>/")
    x = np.stack(images).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x), np.asarray(labels, dtype=np.int64)


def load_imagefolder(root: str | Path, image_size: int = 32, resize: bool = False) -> ImageData:
    root = Path(str(root)).expanduser()
    train, test = root / "train", root / "test"
    for d in (train, test):
        if not d.is_dir():
            raise DataError(f"{d} does not exist: data=imagefolder needs data.root/train/<class>/ and "
                            f"data.root/test/<class>/ folders (data.root={root})")
    classes = sorted(p.name for p in train.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{train} has no class folders: put each class's images in {train}/<class>/")
    extra = sorted(p.name for p in test.iterdir() if p.is_dir() and p.name not in classes)
    if extra:
        raise DataError(f"{test} has class folders {extra} that {train} lacks: make both splits use the "
                        f"same class names")
    tx, ty = _read_split(train, classes, image_size, resize)
    vx, vy = _read_split(test, classes, image_size, resize)
    return ImageData(torch.from_numpy(tx), torch.from_numpy(ty), torch.from_numpy(vx),
                     torch.from_numpy(vy), classes)
