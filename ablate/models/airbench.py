"""airbench94's network (Keller Jordan, arXiv 2404.00498), written for this harness from the paper's description.

A 2x2 convolution stem (no padding, with bias) and three blocks of conv3x3 -> maxpool 2 -> BN -> GELU -> conv3x3
-> BN -> GELU, then maxpool 3, a Linear head without bias and logits scaled by `scale`. BatchNorm has its
weight fixed at 1 (only the bias trains), eps 1e-12 and a running-statistics momentum of 0.4 (the paper's 0.6
in its own convention: the weight of the old statistics). Two optional initialisations, each a model key:

- whiten: the stem's filters are the eigenvectors of the covariance of the training images' 2x2x3 patches,
  scaled by 1 / sqrt(eigenvalue + 5e-4), and their negatives (2 x 12 = 24 filters); computed from the first
  `whiten_images` normalised training images when training starts (init_from_data, called by the core), then
  frozen; the stem's bias trains for the first `whiten_bias_epochs` epochs only (start_epoch).
- dirac_init: the first C_in filters of every convolution start as identity maps (dirac), so an untrained
  block passes its input's channels through.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ablate.errors import ConfigError
from ablate.models.registry import register_model
from ablate.registry import Fraction, NonNegative, Positive, PositiveInt

WHITEN_EPS = 5e-4


def _conv(cin: int, cout: int, kernel: int = 3, padding: int | str = "same", bias: bool = False,
          dirac: bool = True) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, kernel, padding=padding, bias=bias)
    if bias:
        nn.init.zeros_(conv.bias)
    if dirac:
        nn.init.dirac_(conv.weight.data[:cin])        # the first cin filters: identity maps of the input channels
    return conv


def _norm(channels: int, momentum: float) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(channels, eps=1e-12, momentum=momentum)
    bn.weight.requires_grad_(False)                    # fixed at 1: only the bias trains
    return bn


class Block(nn.Sequential):
    def __init__(self, cin: int, cout: int, bn_momentum: float, dirac: bool):
        super().__init__(_conv(cin, cout, dirac=dirac), nn.MaxPool2d(2), _norm(cout, bn_momentum), nn.GELU(),
                         _conv(cout, cout, dirac=dirac), _norm(cout, bn_momentum), nn.GELU())


class Scale(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def patch_whitening(x: torch.Tensor, size: int = 2, eps: float = WHITEN_EPS) -> torch.Tensor:
    """Filters (2 x C*size*size, C, size, size) that whiten the size x size patches of images x (N, C, H, W):
    the patch covariance's eigenvectors over sqrt(eigenvalue + eps), largest first, then their negatives."""
    c = x.shape[1]
    patches = x.float().unfold(2, size, 1).unfold(3, size, 1)            # N, C, H', W', size, size
    flat = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * size * size).double()
    cov = flat.T @ flat / len(flat)                                      # uncentred, as the paper's
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)   # largest first
    filters = (eigenvectors.T / (eigenvalues[:, None] + eps).sqrt()).reshape(-1, c, size, size)
    return torch.cat([filters, -filters]).to(x.dtype)


class Airbench(nn.Sequential):
    def __init__(self, num_classes: int, in_channels: int, widths: tuple[int, int, int], bn_momentum: float,
                 scale: float, whiten: bool, whiten_images: int, whiten_bias_epochs: int, dirac_init: bool):
        stem_width = 2 * in_channels * 2 * 2
        w1, w2, w3 = widths
        super().__init__(_conv(in_channels, stem_width, 2, padding=0, bias=True, dirac=dirac_init), nn.GELU(),
                         Block(stem_width, w1, bn_momentum, dirac_init), Block(w1, w2, bn_momentum, dirac_init),
                         Block(w2, w3, bn_momentum, dirac_init), nn.MaxPool2d(3), nn.Flatten(),
                         nn.Linear(w3, num_classes, bias=False), Scale(scale))
        self.whiten, self.whiten_images, self.whiten_bias_epochs = whiten, whiten_images, whiten_bias_epochs
        if whiten:
            self[0].weight.requires_grad_(False)

    def init_from_data(self, x: torch.Tensor) -> None:
        """Called by the core on a fresh start with normalised training images: the whitening stem."""
        if self.whiten:
            stem = self[0].weight
            stem.data.copy_(patch_whitening(x[:self.whiten_images], stem.shape[-1]).to(stem))

    def start_epoch(self, epoch: int) -> None:
        """Called by the core before each training epoch (0-based): the whitened stem's bias trains for the first
        whiten_bias_epochs epochs, then stays (a parameter without a gradient is left alone by the step)."""
        if self.whiten:
            self[0].bias.requires_grad_(epoch < self.whiten_bias_epochs)


@register_model("airbench")
def airbench(num_classes: int, image_size: int = 32, in_channels: int = 3,
             widths: list[PositiveInt] = (64, 256, 256), bn_momentum: Fraction = 0.4, scale: Positive = 1 / 9,
             whiten: bool = True, whiten_images: PositiveInt = 5000, whiten_bias_epochs: NonNegative = 3,
             dirac_init: bool = True) -> nn.Sequential:
    """airbench94's network for 32x32 images (28 to 47 pixels fit; see the module's docstring); bn_momentum in PyTorch's convention
    (the weight of the new batch's statistics)."""
    _precheck(image_size)
    if len(widths) != 3:
        raise ConfigError(f"airbench needs 3 widths, got {list(widths)}: set e.g. model.widths=[64,256,256]")
    return Airbench(num_classes, in_channels, tuple(int(w) for w in widths), float(bn_momentum), float(scale),
                    bool(whiten), int(whiten_images), whiten_bias_epochs, bool(dirac_init))


def _precheck(image_size: int | None, **keys) -> None:
    """The stem (2x2, no padding) and three 2x pools must leave 3 to 5 pixels for the last pool (3) to end at 1x1:
    28 to 47 pixels (CIFAR's 32, MNIST's 28)."""
    if image_size is None:
        return
    side = image_size - 1
    for _ in range(3):
        side //= 2
    if not 3 <= side <= 5:
        raise ConfigError(f"model=airbench takes images of 28 to 47 pixels (its pools must end at 1x1), got "
                          f"{image_size}: set data.image_size=32 or use another model")


airbench.precheck = _precheck
