"""Label-mixing batch augmentations (MixUp, CutMix): each takes a normalised batch, its labels and the run's
generator, and returns the mixed batch, the second labels and the weight `lam` of the first labels (the
loss is lam * CE(y) + (1 - lam) * CE(y2)). Chosen in an aug config as `mix: {op: mixup, alpha: 0.2}`."""
from __future__ import annotations

import math

import torch

from ablate.registry import Positive, Registry

MIXES = Registry("mixing op", "aug.mix.op", "ablate/data/mix.py")
register_mix = MIXES.register


def _beta(alpha: float) -> float:
    """lam ~ Beta(alpha, alpha), from torch's global RNG (saved in every checkpoint, so a resume draws the same)."""
    return float(torch.distributions.Beta(alpha, alpha).sample()) if alpha > 0 else 1.0


@register_mix("mixup")
def mixup(x: torch.Tensor, y: torch.Tensor, g: torch.Generator, alpha: Positive = 0.2):
    """Each image blended with another of the batch: lam * x + (1 - lam) * x[perm] (Zhang et al., 2018)."""
    lam = _beta(alpha)
    perm = torch.randperm(len(x), device=x.device, generator=g)
    return x.mul(lam).add_(x.index_select(0, perm), alpha=1 - lam), y.index_select(0, perm), lam


@register_mix("cutmix")
def cutmix(x: torch.Tensor, y: torch.Tensor, g: torch.Generator, alpha: Positive = 1.0):
    """A box of another image pasted into each image; lam is the share of the image left (Yun et al., 2019)."""
    lam = _beta(alpha)
    perm = torch.randperm(len(x), device=x.device, generator=g)
    h, w = x.shape[-2:]
    bh, bw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy, cx = int(torch.randint(0, h, ())), int(torch.randint(0, w, ()))   # host-side, like lam: no device sync
    y0, y1 = max(cy - bh // 2, 0), min(cy + bh - bh // 2, h)
    x0, x1 = max(cx - bw // 2, 0), min(cx + bw - bw // 2, w)
    out = x.clone()
    out[..., y0:y1, x0:x1] = x.index_select(0, perm)[..., y0:y1, x0:x1]
    return out, y.index_select(0, perm), 1 - (y1 - y0) * (x1 - x0) / (h * w)


class BatchMix:
    """The `aug.mix` config (or none): checked when built, before any data is loaded."""

    def __init__(self, spec: dict | None):
        spec = dict(spec or {})
        self.name = spec.pop("op", None)
        self.params = spec
        if self.name is not None:
            MIXES.check(self.name, spec, fixed=("x", "y", "g"), where="aug.mix")

    def __call__(self, x: torch.Tensor, y: torch.Tensor, g: torch.Generator):
        return MIXES[self.name](x, y, g, **self.params)

    def __bool__(self) -> bool:
        return self.name is not None
