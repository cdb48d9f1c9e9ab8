"""The training core on CPU and synthetic data: determinism, learning, evaluation without augmentation."""
from __future__ import annotations

import math

import pytest
import torch

from ablate.core import OptimSettings, ScheduleSettings, TrainSettings, train
from ablate.core.evaluate import confusion_matrix, expected_calibration_error, split_metrics
from ablate.core.optim import lr_factor
from ablate.core.train import channel_stats
from ablate.data import make_splits
from ablate.data.augment import BatchAugment
from ablate.data.synthetic import load_synthetic
from ablate.errors import ConfigError, TrainingError
from ablate.models import build_model


def tiny_run(seed=0, epochs=3, augment=None, **kw):
    torch.manual_seed(seed)
    splits = make_splits(load_synthetic(num_train=600, num_test=200, noise=1.0), 100, None, 0)
    model = build_model("small_cnn", 10, widths=[8, 16, 16, 32])
    s = TrainSettings(epochs=epochs, batch_size=64, device="cpu", seed=seed,
                      optim=OptimSettings(lr=0.05, momentum=0.9), schedule=ScheduleSettings(name="cosine"), **kw)
    return train(model, splits, s, augment)


def test_same_seed_same_numbers_on_cpu():
    aug = BatchAugment([{"op": "crop", "padding": 4}, {"op": "flip"}])
    a, b = tiny_run(seed=1, augment=aug), tiny_run(seed=1, augment=aug)
    strip = lambda h: [{k: v for k, v in r.items() if k not in ("epoch_seconds", "images_per_second")} for r in h]
    assert strip(a.history) == strip(b.history)
    assert a.metrics == b.metrics and a.confusion_matrix == b.confusion_matrix
    c = tiny_run(seed=2, augment=aug)
    assert strip(c.history) != strip(a.history)


def test_loss_falls_and_accuracy_beats_chance():
    r = tiny_run(epochs=6)
    losses = [row["train_loss"] for row in r.history]
    assert losses[-1] < 0.7 * losses[0]
    assert r.metrics["test_acc"] > 0.3 and r.metrics["val_acc"] > 0.3
    assert len(r.history) == 6 and r.history[0]["epoch"] == 1


def test_history_and_metrics_have_the_documented_fields():
    r = tiny_run(epochs=1)
    assert set(r.history[0]) == {"epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc",
                                 "epoch_seconds", "stopped_seconds", "images_per_second"}
    for key in ("test_acc", "test_acc_tta", "val_acc", "train_acc", "test_nll", "test_ece", "per_class_acc"):
        assert key in r.metrics
    assert all(0 <= r.metrics[k] <= 1 for k in ("test_acc", "test_acc_tta", "val_acc", "train_acc", "test_ece"))
    assert len(r.confusion_matrix) == 10 and sum(map(sum, r.confusion_matrix)) == 200
    assert r.timing["train_seconds"] > 0 and r.timing["images_per_second"] > 0
    assert r.timing["median_epoch_seconds"] == r.history[0]["epoch_seconds"]


def test_augmentation_is_applied_to_training_batches_only():
    calls = []

    def spy(x, g, at):
        calls.append(len(x))
        return x.flip(-1)

    torch.manual_seed(0)
    splits = make_splits(load_synthetic(num_train=300, num_test=100), 50, None, 0)
    model = build_model("small_cnn", 10, widths=[4, 4, 4, 4])
    seen_eval = []
    model.register_forward_hook(lambda m, inp, out: None if m.training else seen_eval.append(inp[0].clone()))
    r = train(model, splits, TrainSettings(epochs=2, batch_size=50, device="cpu", tta=False), spy)
    assert calls == [50] * 10  # 250 train images / 50 per batch x 2 epochs
    mean, std = channel_stats(splits.train_x)
    expected = (splits.test_x.float() / 255 - mean[None, :, None, None]) / std[None, :, None, None]
    assert torch.allclose(seen_eval[-1], expected, atol=1e-5)   # the test pass saw raw, only normalised images
    assert r.metrics["test_acc_tta"] is None


def test_nan_loss_raises_a_training_error_with_the_fix():
    with pytest.raises(TrainingError, match="lower optim.lr"):
        torch.manual_seed(0)
        splits = make_splits(load_synthetic(num_train=200, num_test=50), 0, None, 0)
        model = build_model("simple_cnn", 10)
        train(model, splits, TrainSettings(epochs=2, batch_size=50, device="cpu",
                                           optim=OptimSettings(lr=1e30)))


def test_split_metrics_by_hand():
    logits = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 1, 1, 1])
    m = split_metrics(logits, y, 2)
    assert m["test_acc"] == pytest.approx(0.75)
    assert m["per_class_acc"] == pytest.approx([1.0, 2 / 3])
    assert m["confusion_matrix"] == [[1, 0], [1, 2]]
    nll = -(math.log(math.e ** 2 / (math.e ** 2 + 1)) + math.log(math.e ** 3 / (math.e ** 3 + 1))
            + math.log(1 / (1 + math.e)) + math.log(math.e / (1 + math.e))) / 4
    assert m["test_nll"] == pytest.approx(nll, rel=1e-5)
    assert confusion_matrix(torch.tensor([0, 0]), torch.tensor([1, 1]), 2).tolist() == [[0, 0], [2, 0]]


def test_ece_by_hand():
    # two confident right answers (0.9) and two confident wrong ones (0.9) -> |0.5 - 0.9| = 0.4
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]])
    y = torch.tensor([0, 0, 0, 0])
    assert expected_calibration_error(probs, y, bins=15) == pytest.approx(0.4)
    perfect = torch.tensor([[1.0, 0.0]] * 3)
    assert expected_calibration_error(perfect, torch.zeros(3, dtype=torch.long)) == pytest.approx(0.0)


def test_schedules_by_hand():
    cos = lr_factor(ScheduleSettings(name="cosine"), total_steps=100, steps_per_epoch=10)
    assert cos(0) == 1.0 and cos(50) == pytest.approx(0.5) and cos(100) == pytest.approx(0.0)
    step = lr_factor(ScheduleSettings(name="step", milestones=(0.5,), gamma=0.1), 100, 10)
    assert step(49) == 1.0 and step(50) == pytest.approx(0.1)
    warm = lr_factor(ScheduleSettings(name="constant", warmup_epochs=2), 100, 10)
    assert warm(0) == pytest.approx(0.05) and warm(19) == 1.0 and warm(50) == 1.0
    one = lr_factor(ScheduleSettings(name="onecycle", pct_start=0.25), 100, 10)
    assert one(0) == pytest.approx(1 / 25) and one(25) == pytest.approx(1.0) and one(100) < 1e-4
    with pytest.raises(ConfigError, match="unknown schedule"):
        lr_factor(ScheduleSettings(name="nope"), 10, 1)


def test_bf16_and_channels_last_run_on_cpu():
    r = tiny_run(epochs=1, precision="bf16", channels_last=True)
    assert 0 <= r.metrics["test_acc"] <= 1


def test_torch_compile_path_trains_on_cpu():
    r = tiny_run(epochs=2, compile=True)
    assert all(math.isfinite(row["train_loss"]) for row in r.history)
    assert r.timing["first_epoch_seconds"] > 0 and 0 <= r.metrics["test_acc"] <= 1


def test_deterministic_setting_does_not_leak_into_the_next_run_in_the_same_process():
    tiny_run(epochs=1, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    tiny_run(epochs=1)
    assert not torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize("amx, avx512_bf16, expected", [(False, False, "fp32"), (True, False, "bf16"),
                                                        (False, True, "bf16")])
def test_precision_auto_picks_bf16_only_where_the_cpu_runs_it_natively(monkeypatch, amx, avx512_bf16, expected):
    from ablate.core.device import resolve_precision
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    assert resolve_precision("auto", torch.device("cpu")) == expected
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"      # asked for: taken as it is
    assert tiny_run(epochs=1, precision="auto").precision == expected


def test_a_diverged_loss_fails_the_run_with_the_fix():
    from ablate.core.train import check_divergence
    check_divergence({"train_loss": 2.5, "epoch": 1}, 10, 0.1)                 # early, near chance: fine
    with pytest.raises(TrainingError, match=r"diverged: the training loss is 4.527e\+05, over 10x.*optim.lr"):
        check_divergence({"train_loss": 452680.0, "epoch": 2}, 10, 1e6)
    with pytest.raises(TrainingError, match="diverged: the training loss became nan"):
        check_divergence({"train_loss": float("nan"), "epoch": 3}, 10, 1.0)


def test_losses_are_built_by_name_from_their_group():
    import torch.nn.functional as F
    from ablate.core.losses import build_loss
    from ablate.errors import ConfigError
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    assert torch.equal(build_loss({"name": "ce", "label_smoothing": 0.0})(logits, y), F.cross_entropy(logits, y))
    smoothed = build_loss({"name": "label_smoothing", "label_smoothing": 0.1})(logits, y)
    assert torch.equal(smoothed, F.cross_entropy(logits, y, label_smoothing=0.1))
    with pytest.raises(ConfigError, match="loss 'ce' has no parameter alpha: its parameters are label_smoothing"):
        build_loss({"name": "ce", "alpha": 1})
    with pytest.raises(ConfigError, match="unknown loss 'focal'"):
        build_loss({"name": "focal"})
