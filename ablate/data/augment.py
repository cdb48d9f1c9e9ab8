"""Batch augmentation with tensor ops, on whatever device the batch lives (the GPU in training).

Every op takes a batch of images (B, C, H, W), uint8 or float, plus a torch.Generator on the batch's
device, and returns a batch of the same dtype and shape. An op that also declares a parameter `at` is given
where the batch stands (an At: each image's index in the training split, the epoch, the run's seed): what a
derandomised op such as alternating_flip needs. A new augmentation is one function registered here and one
YAML file in conf/aug/ that lists it in `ops`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Callable, Literal

import torch

from ablate.errors import ConfigError
from ablate.registry import Byte, Fraction, NonNegativeInt, PositiveInt, Prob, Range, Registry

AugOp = Callable[..., torch.Tensor]
OPS = Registry("augmentation op", "aug.ops[].op", "ablate/data/augment.py")
register = OPS.register


@dataclass(frozen=True)
class At:
    """Where a training batch stands: what an op declaring a parameter `at` is given."""
    index: torch.Tensor      # each image's index in the training split (on the batch's device)
    epoch: int               # the epoch being trained, from 0
    seed: int                # the run's seed
    size: int                # the training split's size

    @classmethod
    def whole(cls, x: torch.Tensor, epoch: int = 0, seed: int = 0) -> "At":
        """The position of a batch that is the whole split, in order (for trying an op by hand)."""
        return cls(torch.arange(len(x), device=x.device), epoch, seed, len(x))


def takes_at(op: Callable) -> bool:
    return "at" in inspect.signature(op).parameters


def _uniform(n: int, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return torch.rand(n, device=x.device, generator=g)


@register("flip")
def flip(x: torch.Tensor, g: torch.Generator, p: Prob = 0.5) -> torch.Tensor:
    """Horizontal flip of each image with probability p."""
    b, c, h, w = x.shape
    mask = _uniform(b, x, g) < p
    cols = torch.arange(w, device=x.device)
    cols = torch.where(mask[:, None], w - 1 - cols, cols)          # (B, W): reversed for flipped images
    return x.gather(3, cols[:, None, None, :].expand(b, c, h, w))   # one gather, no host sync


@lru_cache(maxsize=4)
def _fixed_half(size: int, seed: int, device: str) -> torch.Tensor:
    """A run's own random half of the training split (exactly size // 2 images), the same every epoch."""
    g = torch.Generator(device=device).manual_seed(seed + 0x5EED)
    half = torch.zeros(size, dtype=torch.bool, device=device)
    half[torch.randperm(size, generator=g, device=device)[:size // 2]] = True
    return half


@register("alternating_flip")
def alternating_flip(x: torch.Tensor, g: torch.Generator, at: At | None = None) -> torch.Tensor:
    """Derandomised horizontal flip (airbench94's): a fixed random half of the training images is flipped in
    even epochs, the other half in odd epochs, so every two epochs each image is seen once each way."""
    if at is None:
        raise ConfigError("aug op alternating_flip needs each image's index and the epoch: use it in training "
                          "augmentation (aug.ops), or use op flip")
    flipped = _fixed_half(at.size, at.seed, str(x.device))[at.index] ^ bool(at.epoch % 2)
    return torch.where(flipped[:, None, None, None], x.flip(-1), x)


def crop_offsets(n: int, padding: int, x: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    dy = torch.randint(0, 2 * padding + 1, (n,), device=x.device, generator=g)
    dx = torch.randint(0, 2 * padding + 1, (n,), device=x.device, generator=g)
    return dy, dx


def _source_index(pos: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    """Map positions of the padded image (shifted back by the padding) to source pixels."""
    if mode == "reflect":
        pos = pos.abs()
        return torch.where(pos > size - 1, 2 * (size - 1) - pos, pos)
    return pos.clamp(0, size - 1)   # replicate; zeros masks these pixels afterwards


@register("crop")
def crop(x: torch.Tensor, g: torch.Generator, padding: NonNegativeInt = 4,
         mode: Literal["reflect", "zeros", "constant", "replicate"] = "reflect") -> torch.Tensor:
    """Random crop back to (H, W) from each image padded by `padding` pixels (reflect, zeros or replicate).

    No padded copy is made: each output row and column gathers its source pixel directly.
    """
    if padding <= 0:
        return x
    if mode not in ("reflect", "zeros", "constant", "replicate"):
        raise ConfigError(f"aug crop mode={mode!r} is unknown: use reflect, zeros or replicate")
    if mode == "reflect" and padding >= min(x.shape[-2:]):
        raise ConfigError(f"aug crop padding={padding} must be smaller than the image for reflect padding")
    b, c, h, w = x.shape
    dy, dx = crop_offsets(b, padding, x, g)
    rows = dy[:, None] + torch.arange(h, device=x.device) - padding      # (B, H) in source coordinates
    cols = dx[:, None] + torch.arange(w, device=x.device) - padding      # (B, W)
    # one gather over each image's flattened pixels (faster than two gathers or 4-D advanced indexing)
    flat = _source_index(rows, h, mode)[:, :, None] * w + _source_index(cols, w, mode)[:, None, :]
    out = x.reshape(b, c, h * w).gather(2, flat.reshape(b, 1, h * w).expand(b, c, h * w)).reshape(b, c, h, w)
    if mode in ("zeros", "constant"):
        inside = ((rows >= 0) & (rows < h))[:, None, :, None] & ((cols >= 0) & (cols < w))[:, None, None, :]
        out = out * inside.to(out.dtype)
    return out


def _to_unit(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 255 if x.dtype == torch.uint8 else x


def _from_unit(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    y = y.clamp(0, 1)
    return (y * 255).round().to(torch.uint8) if like.dtype == torch.uint8 else y.to(like.dtype)


@register("color_jitter")
def color_jitter(x: torch.Tensor, g: torch.Generator, brightness: Prob = 0.2, contrast: Prob = 0.2,
                 saturation: Prob = 0.2) -> torch.Tensor:
    """Per-image brightness, contrast and saturation factors drawn from [1 - s, 1 + s] (torchvision's ranges)."""
    n = len(x)
    y = _to_unit(x)

    def factor(s: float) -> torch.Tensor:
        return (1 - s + 2 * s * _uniform(n, x, g))[:, None, None, None]

    if x.shape[1] == 1:              # grey images: brightness and contrast only
        gray_w, saturation = torch.ones(1, 1, 1, 1, device=x.device), 0.0
    else:
        gray_w = torch.tensor([0.299, 0.587, 0.114], device=x.device)[None, :, None, None]
    if brightness > 0:
        y = (y * factor(brightness)).clamp(0, 1)
    if contrast > 0:
        mean = (y * gray_w).sum(1, keepdim=True).mean((2, 3), keepdim=True)
        y = (mean + factor(contrast) * (y - mean)).clamp(0, 1)
    if saturation > 0:
        gray = (y * gray_w).sum(1, keepdim=True)
        y = (gray + factor(saturation) * (y - gray)).clamp(0, 1)
    return _from_unit(y, x)


@register("cutout")
def cutout(x: torch.Tensor, g: torch.Generator, size: PositiveInt = 16, fill: Byte = 128) -> torch.Tensor:
    """Fill one size x size square per image (centre uniform over the image, clipped at the border)."""
    b, _, h, w = x.shape
    cy = torch.randint(0, h, (b,), device=x.device, generator=g)[:, None, None]
    cx = torch.randint(0, w, (b,), device=x.device, generator=g)[:, None, None]
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    half = size // 2
    inside = (ys >= cy - half) & (ys < cy - half + size) & (xs >= cx - half) & (xs < cx - half + size)
    fill_value = fill if x.dtype == torch.uint8 else fill / 255
    return x.masked_fill(inside[:, None], fill_value)


FILL_MODES = {"nearest": "border", "constant": "zeros", "reflect": "reflection"}


@register("affine")
def affine(x: torch.Tensor, g: torch.Generator, rotation: Annotated[float, Range(0, 180)] = 0.0,
           shift_x: Prob = 0.0, shift_y: Prob = 0.0, shear: Annotated[float, Range(0, 90, high_open=True)] = 0.0,
           zoom: Fraction = 0.0, fill: Literal["nearest", "constant", "reflect"] = "nearest") -> torch.Tensor:
    """Keras ImageDataGenerator-style geometry, one random affine map per image: rotation in [-rotation,
    rotation] degrees, shifts in [-shift, shift] of the width / height, shear angle in [-shear, shear] degrees,
    zoom per axis in [1 - zoom, 1 + zoom]; pixels from outside the image filled as `fill` (nearest, constant
    (zero), reflect). Bilinear resampling of the whole batch at once."""
    if fill not in FILL_MODES:
        raise ConfigError(f"aug affine fill={fill!r} is unknown: use {', '.join(FILL_MODES)}")
    b, c, h, w = x.shape

    def u() -> torch.Tensor:                          # uniform in [-1, 1], one per image
        return 2 * _uniform(b, x, g) - 1

    angle, sh = torch.deg2rad(rotation * u()), torch.deg2rad(shear * u())
    zx, zy, tx, ty = 1 + zoom * u(), 1 + zoom * u(), 2 * shift_x * u(), 2 * shift_y * u()   # grid spans [-1, 1]
    cos, sin, tan = angle.cos(), angle.sin(), sh.tan()
    # output -> input coordinates: rotate, then shear, then zoom, then shift
    a11, a12 = cos * zx, (-sin + cos * tan) * zy
    a21, a22 = sin * zx, (cos + sin * tan) * zy
    theta = torch.stack([torch.stack([a11, a12, tx], 1), torch.stack([a21, a22, ty], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, (b, c, h, w), align_corners=False)
    y = torch.nn.functional.grid_sample(x.float(), grid, mode="bilinear", padding_mode=FILL_MODES[fill],
                                        align_corners=False)
    return y.round_().clamp_(0, 255).to(torch.uint8) if x.dtype == torch.uint8 else y.to(x.dtype)


class BatchAugment:
    """A list of ops from the `aug` config, applied in order to training batches only."""

    def __init__(self, ops: list[dict] | None):
        self.ops = []
        for i, spec in enumerate(ops or []):
            spec = dict(spec)
            name = spec.pop("op", None)
            OPS.check(name, spec, fixed=("x", "g", "at"), where=f"aug.ops[{i}]")   # before any data is loaded
            if takes_at(OPS[name]):
                spec["at"] = None                  # filled per batch
            self.ops.append((OPS[name], spec))

    def __call__(self, x: torch.Tensor, g: torch.Generator, at: At | None = None) -> torch.Tensor:
        for fn, params in self.ops:
            x = fn(x, g, **(params if "at" not in params else {**params, "at": at}))
        return x

    def __bool__(self) -> bool:
        return bool(self.ops)
