"""airbench94's parts (issue 28), each a general option of the harness, checked one by one: the whitening stem,
dirac init, the alternating flip, multi-crop TTA, lookahead, fractional epochs, the piecewise-linear schedule,
the BatchNorm lr multiplier and the translation of the author's per-1024, summed-loss lr and weight decay."""
from __future__ import annotations

import math
import os

import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from ablate.core import OptimSettings, ScheduleSettings, TrainSettings, train
from ablate.core.evaluate import MULTICROP, multicrop_logits, shifted
from ablate.core.lookahead import Lookahead
from ablate.core.optim import build_optimizer, lr_factor, param_groups
from ablate.core.train import channel_stats
from ablate.data import make_splits
from ablate.data.augment import At, BatchAugment, alternating_flip
from ablate.data.synthetic import load_synthetic
from ablate.errors import ConfigError
from ablate.job.spec import JobSpec
from ablate.models import build_model
from ablate.models.airbench import patch_whitening

CONF = os.path.join(os.path.dirname(__file__), "..", "conf")


def recipe(*overrides):
    with initialize_config_dir(config_dir=os.path.abspath(CONF), version_base="1.3"):
        return compose("config", overrides=["experiment=airbench94", *overrides])


def tiny_splits(n=1200, val=0):
    return make_splits(load_synthetic(num_train=n, num_test=200, noise=1.0), val, None, 0)


# --- the network -------------------------------------------------------------------------------------------
def test_the_network_has_the_papers_shape_and_fixed_batchnorm_weights():
    net = build_model("airbench", 10)
    assert net(torch.randn(4, 3, 32, 32)).shape == (4, 10)
    params = sum(p.numel() for p in net.parameters())
    assert 1.9e6 < params < 2.1e6, params              # the paper's "about 2M parameters"
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 6 and all(not b.weight.requires_grad and b.bias.requires_grad for b in bns)
    assert all(b.eps == 1e-12 and b.momentum == pytest.approx(0.4) for b in bns)
    assert net[0].weight.shape == (24, 3, 2, 2) and not net[0].weight.requires_grad   # whitened, frozen
    with pytest.raises(ConfigError, match="28 to 47 pixels"):
        build_model("airbench", 10, image_size=64)


def test_whitening_makes_the_stems_output_covariance_the_identity_on_training_patches():
    x = (tiny_splits().train_x[:500].float() / 255 - 0.5) / 0.25
    w = patch_whitening(x)
    assert w.shape == (24, 3, 2, 2) and torch.equal(w[12:], -w[:12])
    out = F.conv2d(x, w[:12]).permute(0, 2, 3, 1).reshape(-1, 12).double()
    cov = out.T @ out / len(out)                        # uncentred, as the whitening's estimate
    patches = x.unfold(2, 2, 1).unfold(3, 2, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, 12).double()
    eigenvalues = torch.linalg.eigvalsh(patches.T @ patches / len(patches)).flip(0)
    # exactly lambda / (lambda + eps) on the diagonal, zero off it: the identity, up to the paper's eps of 5e-4
    assert torch.allclose(cov, torch.diag(eigenvalues / (eigenvalues + 5e-4)), atol=1e-4)
    assert torch.allclose(cov, torch.eye(12, dtype=cov.dtype), atol=0.05)


def test_the_core_whitens_the_stem_from_the_training_images_and_its_bias_stops_training():
    splits, snapshots = tiny_splits(), []
    net = build_model("airbench", 10, widths=[16, 32, 32], whiten_bias_epochs=1)
    before = net[0].weight.detach().clone()
    s = TrainSettings(epochs=3, batch_size=200, device="cpu", optim=OptimSettings(lr=0.2, momentum=0.9))
    train(net, splits, s, on_epoch=lambda row, st: snapshots.append(st.model[0].bias.detach().clone()))
    assert not torch.equal(before, net[0].weight)                     # whitened at the start ...
    mean, std = channel_stats(splits.train_x)                         # the core's normalisation
    x = (splits.train_x.float() / 255 - mean[:, None, None]) / std[:, None, None]
    assert torch.allclose(net[0].weight, patch_whitening(x[:5000]), atol=1e-3)     # ... from these images
    assert not torch.equal(snapshots[0], torch.zeros_like(snapshots[0]))          # its bias trained in epoch 1
    assert torch.equal(snapshots[0], snapshots[1]) and torch.equal(snapshots[1], snapshots[2])   # then stayed
    bn = net[2][2]
    assert bn.num_batches_tracked.item() == 3 * 6       # a BatchNorm whose weight is fixed still trains


def test_dirac_init_makes_an_untrained_block_pass_its_inputs_channels_through():
    net = build_model("airbench", 10, whiten=False, dirac_init=True)
    conv = net[2][0]                                    # block 1's first conv: 24 -> 64
    x = torch.randn(2, 24, 8, 8)
    assert torch.allclose(conv(x)[:, :24], x, atol=1e-6)
    off = build_model("airbench", 10, whiten=False, dirac_init=False)[2][0]
    assert not torch.allclose(off(x)[:, :24], x, atol=1e-2)


# --- augmentation and test-time augmentation -------------------------------------------------------------
def test_the_alternating_flip_shows_each_image_flipped_exactly_once_in_two_epochs():
    n = 101
    x = torch.arange(n * 3 * 4 * 4, dtype=torch.float32).reshape(n, 3, 4, 4)   # no image is its own mirror
    index = torch.arange(n)
    flipped = [(alternating_flip(x, None, At(index, e, seed=7, size=n)) == x.flip(-1)).flatten(1).all(1)
               for e in (0, 1, 2)]
    assert torch.equal(flipped[0] ^ flipped[1], torch.ones(n, dtype=torch.bool))
    assert torch.equal(flipped[0], flipped[2]) and flipped[0].sum() == n // 2
    shuffled = torch.randperm(n)                        # the same image gets the same answer in any batch
    again = (alternating_flip(x[shuffled], None, At(shuffled, 0, 7, n)) == x[shuffled].flip(-1)).flatten(1).all(1)
    assert torch.equal(again, flipped[0][shuffled])
    other_seed = (alternating_flip(x, None, At(index, 0, 8, n)) == x.flip(-1)).flatten(1).all(1)
    assert not torch.equal(other_seed, flipped[0])
    with pytest.raises(ConfigError, match="alternating_flip"):
        BatchAugment([{"op": "alternating_flip"}])(x, torch.Generator())


def test_multicrop_views_are_the_papers_shifts_and_weights():
    x = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    padded = F.pad(x.float(), (1, 1, 1, 1), mode="reflect")
    assert torch.equal(shifted(x, -1).float(), padded[..., 0:32, 0:32])
    assert torch.equal(shifted(x, 1).float(), padded[..., 2:34, 2:34])
    views = {(d, f): torch.randn(5, 10) for d in (0, -1, 1) for f in (False, True)}
    got = multicrop_logits(views[0, False], views[0, True], lambda d, f: views[d, f])
    want = 0.25 * (views[0, False] + views[0, True]) + \
        0.125 * (views[-1, False] + views[-1, True] + views[1, False] + views[1, True])
    assert torch.allclose(got, want) and sum(2 * w for _, w in MULTICROP) == 1


def test_a_run_records_plain_flip_and_multicrop_accuracy():
    net = build_model("airbench", 10, widths=[16, 32, 32], whiten_images=500)
    s = TrainSettings(epochs=1, batch_size=200, device="cpu", tta="multicrop")
    m = train(net, tiny_splits(), s).metrics
    assert all(0 <= m[k] <= 1 for k in ("test_acc", "test_acc_tta", "test_acc_tta_multicrop"))


# --- optimisation ----------------------------------------------------------------------------------------
def test_lookahead_ends_on_the_average_and_averages_as_the_paper_says():
    model = torch.nn.Linear(3, 1, bias=False)
    la = Lookahead(model, total_steps=12, every=5, decay=0.8, power=3)
    average = model.weight.detach().clone()
    for step in range(1, 13):
        with torch.no_grad():
            model.weight.add_(1.0)                      # a "step"
        stepped = model.weight.detach().clone()
        la.after_step(step)
        if step % 5 == 0:
            decay = 0.8 * (step / 12) ** 3
            average = decay * average + (1 - decay) * stepped
            assert torch.allclose(model.weight, average)    # reset to the average
        elif step < 12:
            assert torch.equal(model.weight, stepped)       # left alone between updates
    assert torch.allclose(model.weight, average)        # the last step: the model is the average (of step 10)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_lookahead_really_averages_the_fp32_weights_in_a_run(precision):
    ends = {}
    for on in (False, True):
        torch.manual_seed(0)
        net = build_model("small_cnn", 10, widths=[8, 16, 16, 32])
        s = TrainSettings(epochs=2, batch_size=100, device="cpu", precision=precision, lookahead=on,
                          optim=OptimSettings(lr=0.05, momentum=0.9))
        seen = {}
        train(net, tiny_splits(600), s, on_epoch=lambda row, st: seen.update(la=st.lookahead))
        ends[on] = {k: v.clone() for k, v in net.state_dict().items() if v.is_floating_point()}
        if on:
            assert all(v.dtype == torch.float32 for v in seen["la"].average.values())
            assert all(torch.equal(ends[on][k], seen["la"].average[k]) for k in ends[on])   # the final model
    assert any(not torch.equal(ends[True][k], ends[False][k]) for k in ends[True])        # and it did something


def test_fractional_epochs_stop_at_the_right_step():
    rows, states = [], []
    s = TrainSettings(epochs=2.5, batch_size=100, device="cpu")      # 1,200 images: 12 steps an epoch
    r = train(build_model("small_cnn", 10, widths=[8, 16, 16, 32]), tiny_splits(), s,
              on_epoch=lambda row, st: (rows.append(row), states.append(st)))
    assert [row["epoch"] for row in r.history] == [1, 2, 3]
    assert states[-1].scheduler.last_epoch == 30                      # ceil(2.5 x 12) steps in all
    assert rows[-1]["images_per_second"] * rows[-1]["epoch_seconds"] == pytest.approx(6 * 100)
    assert recipe().trainer.epochs == 9.9 and math.ceil(round(9.9 * (50_000 // 1024), 6)) == 476   # the paper's


def test_the_piecewise_schedule_is_linear_between_its_knots():
    f = lr_factor(ScheduleSettings(name="piecewise", knots=(0.0, 0.23, 1.0), values=(0.2, 1.0, 0.07)), 100, 10)
    assert f(0) == pytest.approx(0.2) and f(23) == pytest.approx(1.0) and f(100) == pytest.approx(0.07)
    assert f(10) == pytest.approx(0.2 + 0.8 * 10 / 23) and f(60) == pytest.approx(1 - 0.93 * 37 / 77)
    with pytest.raises(ConfigError, match="schedule.knots"):
        JobSpec.from_config(recipe("schedule.knots=[0.1,1]", "schedule.values=[1,0]"))
    with pytest.raises(ConfigError, match="one lr multiplier per knot"):
        JobSpec.from_config(recipe("schedule.values=[1,0]"))


def test_the_lr_translation_takes_the_authors_steps():
    """The author's SGD (summed loss, lr and decay per 1024 examples, BatchNorm biases at 64x the lr with the
    decay / 64) and ours (the recipe's config: a mean loss) take the same steps from the same weights."""
    settings = JobSpec.from_config(recipe()).settings.optim
    momentum, batch = 0.85, 1024
    kilostep = batch * (1 + 1 / (1 - momentum))
    lr, wd = 11.5 / kilostep, 0.0153 * batch / kilostep            # the author's formulas
    assert settings.lr * settings.weight_decay == pytest.approx(wd)        # the same decay per step
    assert settings.lr == pytest.approx(lr * batch)                         # a mean loss: 1024x the lr
    torch.manual_seed(0)
    theirs = build_model("airbench", 10, widths=[8, 16, 16], whiten=False)
    ours = build_model("airbench", 10, widths=[8, 16, 16], whiten=False)
    ours.load_state_dict(theirs.state_dict())
    norm = [p for n, p in theirs.named_parameters() if p.requires_grad and p.ndim == 1 and n != "0.bias"]
    rest = [p for n, p in theirs.named_parameters() if p.requires_grad and not any(p is q for q in norm)]
    their_opt = torch.optim.SGD([{"params": norm, "lr": lr * 64, "weight_decay": wd / (lr * 64)},
                                 {"params": rest, "lr": lr, "weight_decay": wd / lr}], momentum=momentum, nesterov=True)
    our_opt = build_optimizer(param_groups(ours, settings), settings)
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    for _ in range(3):
        for net, opt, reduction in ((theirs, their_opt, "sum"), (ours, our_opt, "mean")):
            loss = F.cross_entropy(net(x), y, label_smoothing=0.2, reduction=reduction)
            opt.zero_grad()
            (loss * (batch / len(y)) if reduction == "sum" else loss).backward()   # as if the batch were 1024
            opt.step()
    for (name, a), b in zip(theirs.state_dict().items(), ours.state_dict().values()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6), name


def test_the_recipe_composes_with_every_part_on_and_each_switches_off_by_one_override():
    spec = JobSpec.from_config(recipe())
    s = spec.settings
    assert (spec.model["name"], spec.model["whiten"], spec.model["dirac_init"]) == ("airbench", True, True)
    assert (s.lookahead, s.tta, s.batch_size, s.optim.norm_lr_scale, s.schedule.name) == \
        (True, "multicrop", 1024, 64.0, "piecewise")
    assert spec.data["val_size"] == 0 and [op["op"] for op in spec.config["aug"]["ops"]] == ["crop", "alternating_flip"]
    off = JobSpec.from_config(recipe("model.whiten=false", "model.dirac_init=false", "trainer.lookahead=false",
                                     "optim.norm_lr_scale=1", "aug.ops.1.op=flip", "trainer.tta=true"))
    assert not off.model["whiten"] and not off.settings.lookahead and off.settings.optim.norm_lr_scale == 1


def test_the_report_says_which_configurations_had_no_validation_split(tmp_path):
    import json
    from ablate.record.synthetic import write_sweep
    from ablate.report.markdown import write_report
    sweep = write_sweep(tmp_path / "s", {"aug=none": [0.70, 0.71], "aug=airbench": [0.80, 0.81]})
    for path in sweep.rglob("results.json"):
        rec = json.loads(path.read_text())
        if rec["choices"]["aug"] == "airbench":
            rec["metrics"].update(val_acc=None, best_val_acc=None, val_loss=None)
            path.write_text(json.dumps(rec))
    text = (write_report(sweep) / "report.md").read_text()
    line = next(line for line in text.splitlines() if line.startswith("No validation split"))
    assert "`aug=airbench`" in line and "aug=none" not in line
