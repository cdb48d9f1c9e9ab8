"""Augmentations do what they say: crop offsets within the padding, flip rate near p, dtype and shape kept."""
from __future__ import annotations

import pytest
import torch

from ablate.data.augment import OPS, At, BatchAugment, crop, cutout, flip, takes_at
from ablate.errors import ConfigError


def coded_images(n=64, size=32):
    """Each pixel's value encodes its (row, col): the crop offset can be read back from the output."""
    rows = torch.arange(size)[:, None].expand(size, size)
    cols = torch.arange(size)[None, :].expand(size, size)
    img = torch.stack([rows + 100, cols + 100, torch.zeros_like(rows)]).to(torch.uint8)
    return img.expand(n, 3, size, size).clone()


def test_crop_offsets_stay_within_the_padding_and_cover_it():
    x = coded_images(n=2000)
    y = crop(x, torch.Generator().manual_seed(0), padding=4, mode="zeros")
    assert y.shape == x.shape and y.dtype == torch.uint8
    # with zero padding a window shifted by (dy, dx) starts at original pixel (dy - 4, dx - 4)
    offsets = set()
    for img in y[:500]:
        inside = (img[0] > 0).nonzero()
        r0 = int(img[0][inside[0, 0], inside[0, 1]]) - 100 - int(inside[0, 0])
        c0 = int(img[1][inside[0, 0], inside[0, 1]]) - 100 - int(inside[0, 1])
        assert -4 <= r0 <= 4 and -4 <= c0 <= 4
        offsets.add((r0, c0))
    assert len(offsets) > 60  # 81 possible offsets, nearly all drawn


def test_reflect_crop_only_shifts_and_mirrors_real_pixels():
    x = coded_images(n=200)
    y = crop(x, torch.Generator().manual_seed(1), padding=4, mode="reflect")
    assert (y[:, 0] >= 100).all() and (y[:, 1] >= 100).all()   # no zero fill with reflect padding
    centre = y[:, 0, 16, 16].long() - 100
    assert (centre - 16).abs().max() <= 4


def test_flip_rate_is_near_p_and_flips_whole_images():
    x = coded_images(n=4000)
    y = flip(x, torch.Generator().manual_seed(0), p=0.5)
    flipped = (y[:, 1, 0, 0] == 131)
    same = (y == x).flatten(1).all(1)
    assert (flipped ^ same).all()                     # each image is either untouched or mirrored
    assert (y[flipped] == x[flipped].flip(-1)).all()
    assert 0.46 < flipped.float().mean() < 0.54


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_every_op_keeps_dtype_shape_and_device(name, dtype):
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    x = x if dtype == torch.uint8 else x.float() / 255
    y = OPS[name](x, torch.Generator().manual_seed(0), **({"at": At.whole(x)} if takes_at(OPS[name]) else {}))
    assert y.dtype == x.dtype and y.shape == x.shape and y.device == x.device


def test_cutout_fills_one_square_of_at_most_size_squared_pixels():
    x = torch.zeros(500, 3, 32, 32, dtype=torch.uint8)
    y = cutout(x, torch.Generator().manual_seed(0), size=8, fill=200)
    filled = (y[:, 0] == 200).flatten(1).sum(1)
    assert (filled <= 64).all() and (filled > 0).all() and (filled == 64).float().mean() > 0.5
    assert ((y == 200).all(1) == (y[:, 0] == 200)).all()   # all channels together


def test_color_jitter_changes_pixels_but_not_geometry():
    x = torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8)
    y = OPS["color_jitter"](x, torch.Generator().manual_seed(0))
    assert (y != x).any()
    gray = torch.full((4, 3, 8, 8), 128, dtype=torch.uint8)
    assert (OPS["color_jitter"](gray, torch.Generator().manual_seed(0)).float().std((1, 2, 3)) == 0).all()


def test_same_generator_seed_gives_the_same_batch():
    aug = BatchAugment([{"op": "crop", "padding": 4}, {"op": "flip"}, {"op": "cutout", "size": 8}])
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    a = aug(x, torch.Generator().manual_seed(3))
    b = aug(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_unknown_op_names_the_fix():
    with pytest.raises(ConfigError, match="unknown augmentation op 'mixup'.*register"):
        BatchAugment([{"op": "mixup"}])


@pytest.mark.parametrize("mode,pad_mode", [("reflect", "reflect"), ("zeros", "constant"), ("replicate", "replicate")])
def test_crop_equals_padding_then_slicing(mode, pad_mode):
    import torch.nn.functional as F
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    y = crop(x, torch.Generator().manual_seed(0), padding=4, mode=mode)
    g = torch.Generator().manual_seed(0)   # the same draws crop makes
    dy, dx = torch.randint(0, 9, (64,), generator=g), torch.randint(0, 9, (64,), generator=g)
    padded = F.pad(x.float(), (4,) * 4, mode=pad_mode).to(torch.uint8)
    expected = torch.stack([padded[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32] for i in range(64)])
    assert torch.equal(y, expected)


def test_affine_with_no_range_is_the_identity_and_ranges_move_pixels():
    from ablate.data.augment import affine
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    assert torch.equal(affine(x, torch.Generator().manual_seed(0)), x)
    moved = affine(x, torch.Generator().manual_seed(0), rotation=30, zoom=0.2)
    assert moved.shape == x.shape and moved.dtype == torch.uint8 and not torch.equal(moved, x)
    assert torch.equal(moved, affine(x, torch.Generator().manual_seed(0), rotation=30, zoom=0.2))


def test_affine_shift_moves_content_by_the_fraction_and_fills_as_asked():
    from ablate.data.augment import affine
    x = torch.zeros(64, 1, 20, 20, dtype=torch.uint8)
    x[:, :, :, 10:] = 200                                  # right half bright
    y = affine(x, torch.Generator().manual_seed(1), shift_x=0.25, fill="constant")
    bright_cols = (y[:, 0, 10] > 100).sum(1).float()       # bright columns in a middle row
    assert bright_cols.min() >= 5 - 1 and bright_cols.max() <= 15 + 1 and bright_cols.std() > 1
    with pytest.raises(ConfigError, match="fill='wrap' is unknown"):
        affine(x, torch.Generator(), fill="wrap")


@pytest.mark.parametrize("name", ["mixup", "cutmix"])
def test_mixing_keeps_shapes_and_weights_the_labels(name):
    from ablate.data.mix import MIXES
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 32, 32), torch.arange(16) % 10
    mixed, y2, lam = MIXES[name](x, y, torch.Generator().manual_seed(0), alpha=1.0)
    assert mixed.shape == x.shape and sorted(y2.tolist()) == sorted(y.tolist()) and 0 <= lam <= 1
    if name == "cutmix":      # lam is the share of pixels still from the image itself
        assert (mixed == x).float().mean() == pytest.approx(lam, abs=0.02)


def test_a_misspelled_mix_key_is_named():
    from ablate.data.mix import BatchMix
    with pytest.raises(ConfigError, match="no parameter alfa.*alpha"):
        BatchMix({"op": "mixup", "alfa": 0.2})
