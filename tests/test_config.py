"""Every option of every config group composes and builds."""
from __future__ import annotations

import torch
import pytest

from ablate.core.optim import build_optimizer, lr_factor
from ablate.data.augment import At, BatchAugment
from ablate.models import build_model
from ablate.job.spec import JobSpec
from ablate.config.validate import validate
from ablate.errors import ConfigError
from conftest import CONF


def options(group):
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_every_registered_model_and_dataset_has_its_yaml_and_back():
    # configs are data: a new model or dataset is one registered function and one YAML file
    from ablate.data.registry import DATASETS
    from ablate.models import MODELS
    assert options("model") == MODELS.names()
    assert options("data") == DATASETS.names()
    from ablate.core.optim import OPTIMIZERS, SCHEDULES
    from omegaconf import OmegaConf
    assert options("optim") == OPTIMIZERS.names()
    assert sorted(OmegaConf.load(CONF / "schedule" / f"{o}.yaml").schedule.name for o in options("schedule")) \
        == SCHEDULES.names()
    from ablate.core.losses import LOSSES
    assert options("loss") == LOSSES.names()
    assert {"none", "cropflip"} <= set(options("aug"))
    assert set(options("experiment")) >= {"ladder", "ladder_short", "resnet18_94"}


def test_the_groups_offer_exactly_their_yaml_files_and_type_check_the_trainer(make_cfg):
    # `python -m ablate --help` lists these options: the trainer's schema is no option a user picks,
    # yet it still types the trainer's keys
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    groups = [p.name for p in CONF.iterdir() if p.is_dir() and p.name != "hydra"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        for group in groups:
            assert sorted(loader.get_group_options(group)) == options(group), group
    with pytest.raises(Exception) as err:
        make_cfg(["trainer.batch_size=abc"])
    assert "could not be converted to Integer" in str(err.value.__cause__)


@pytest.mark.parametrize("name", options("model"))
def test_model_options_build_and_run(make_cfg, name):
    cfg = make_cfg([f"model={name}"])
    model = build_model(num_classes=10, **cfg.model)
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)


@pytest.mark.parametrize("name", options("aug"))
def test_aug_options_build_and_keep_shape(make_cfg, name):
    cfg = make_cfg([f"aug={name}"])
    aug = BatchAugment(cfg.aug.ops)
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    y = aug(x, torch.Generator().manual_seed(0), At.whole(x))
    assert y.dtype == x.dtype and y.shape == x.shape


@pytest.mark.parametrize("optim", options("optim"))
@pytest.mark.parametrize("schedule", options("schedule"))
def test_optim_and_schedule_options_build(make_cfg, optim, schedule):
    cfg = make_cfg([f"optim={optim}", f"schedule={schedule}", "data=synthetic"])
    s = JobSpec.from_config(cfg).settings
    opt = build_optimizer(torch.nn.Linear(2, 2).parameters(), s.optim)
    f = lr_factor(s.schedule, total_steps=100, steps_per_epoch=10)
    assert all(0 < f(t) <= 1.0 + 1e-9 for t in range(100))
    assert opt.param_groups[0]["lr"] == s.optim.lr


@pytest.mark.parametrize("name", options("data"))
def test_data_options_compose_with_the_shared_keys(make_cfg, name):
    overrides = [f"data={name}"] + (["data.root=/somewhere"] if name == "imagefolder" else [])
    cfg = make_cfg(overrides)
    from dataclasses import fields

    from ablate.config.schema import DataSplitConfig
    for f in fields(DataSplitConfig):      # every option has the shared keys, from the one schema
        assert f.name in cfg.data, f.name
    assert "/data_split@_here_" in (CONF / "data" / f"{name}.yaml").read_text()
    validate(cfg)
    bad = make_cfg(overrides + ["data.split_seed=-1"])
    with pytest.raises(ConfigError, match=r"data.split_seed must be an integer >= 0.*data.split_seed=0"):
        validate(bad)


@pytest.mark.parametrize("name", options("loss"))
def test_loss_options(make_cfg, name):
    cfg = make_cfg([f"loss={name}"])
    assert cfg.loss.label_smoothing == (0.1 if name == "label_smoothing" else 0.0)


def test_schedule_rungs_bundle_the_optimizer_settings(make_cfg):
    none = make_cfg(["schedule=none"])
    assert (none.optim.lr, none.optim.momentum, none.optim.weight_decay) == (0.1, 0.0, 0.0)
    cos = make_cfg(["schedule=cosine"])
    assert (cos.schedule.name, cos.optim.momentum, cos.optim.weight_decay) == ("cosine", 0.9, 5e-4)
    # every part of the rung stays overridable
    assert make_cfg(["schedule=cosine", "optim.momentum=0"]).optim.momentum == 0


def test_ladder_experiment_sweeps_four_rungs_over_five_seeds(make_cfg):
    cfg = make_cfg(["experiment=ladder"], hydra_cfg=True)
    params = cfg.hydra.sweeper.params
    assert params.rung.split(",") == ["0_baseline", "1_cropflip", "2_cosine", "3_label_smoothing"]
    assert params.seed == "range(0,5)"
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    expected = {"0_baseline": ("none", "constant", 0.0, 0.0, 0.0),
                "1_cropflip": ("cropflip", "constant", 0.0, 0.0, 0.0),
                "2_cosine": ("cropflip", "cosine", 0.9, 5e-4, 0.0),
                "3_label_smoothing": ("cropflip", "cosine", 0.9, 5e-4, 0.1)}
    for rung, want in expected.items():
        c = make_cfg(["experiment=ladder", f"rung={rung}"])
        got = (c.aug.name, c.schedule.name, c.optim.momentum, c.optim.weight_decay, c.loss.label_smoothing)
        assert got == want, rung
        assert (c.model.name, c.trainer.epochs, c.optim.name, c.optim.lr) == ("small_cnn", 100, "sgd", 0.1)


def test_resnet18_recipe(make_cfg):
    c = make_cfg(["experiment=resnet18_94"])
    assert (c.model.name, c.aug.name, c.schedule.name, c.loss.label_smoothing) == \
        ("resnet18", "cropflip_jitter", "cosine", 0.1)
    assert (c.optim.lr, c.optim.nesterov, c.optim.momentum, c.optim.weight_decay) == (0.1, True, 0.9, 5e-4)
    assert (c.trainer.batch_size, c.trainer.epochs) == (128, 100)


def test_default_config_is_the_ladder_model_on_cifar10(make_cfg):
    c = make_cfg([])
    assert (c.data.name, c.model.name, c.trainer.epochs, c.aug.name) == ("cifar10", "small_cnn", 100, "none")


@pytest.mark.parametrize("name", options("experiment"))
def test_every_experiment_composes_and_validates(make_cfg, name):
    cfg = make_cfg([f"experiment={name}"])
    validate(cfg)
    from ablate.models.registry import check_model_keys
    from omegaconf import OmegaConf
    check_model_keys(OmegaConf.to_container(cfg.model, resolve=True))
    BatchAugment(OmegaConf.to_container(cfg.aug.ops, resolve=True))


def test_vgg16_transfer_is_the_keras_lessons_two_phases(make_cfg):
    cfg = make_cfg(["experiment=vgg16_transfer"])
    assert (cfg.model.name, cfg.model.freeze, cfg.model.head, cfg.model.pretrained) == ("vgg16", True, "flatten_dense", True)
    assert (cfg.data.image_size, cfg.data.normalize, cfg.trainer.unfreeze_at) == (64, "imagenet", 5)


def test_folder_names_leave_out_exactly_the_identity_placement_keys(make_cfg):
    """A key that does not change what a run measures must neither enter its identity nor split its folder:
    trainer.checkpoint_every=5 once got a new folder with the same identity."""
    from ablate.record.identity import PLACEMENT_GROUPS, PLACEMENT_KEYS
    cfg = make_cfg(hydra_cfg=True)
    excluded = set(cfg.hydra.job.config.override_dirname.exclude_keys)
    hydra_own = {k for k in excluded if k.startswith("hydra.")}
    assert excluded - hydra_own == set(PLACEMENT_KEYS) | set(PLACEMENT_GROUPS)


def test_a_new_model_is_one_registered_function_and_one_yaml(tmp_path):
    """In a copy of the project: a new file in ablate/models/ and its YAML, with no import line anywhere, are in
    the registry and the config group, and a composed config builds it."""
    import shutil
    import subprocess
    import sys
    from conftest import ROOT
    shutil.copytree(ROOT / "ablate", tmp_path / "ablate", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    (tmp_path / "ablate/models/tiny_net.py").write_text(
        "import torch.nn as nn\nfrom ablate.models.registry import register_model\n\n\n"
        "@register_model('tiny_net')\n"
        "def tiny_net(num_classes, image_size=32, in_channels=3, width=4):\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size ** 2, num_classes))\n")
    (tmp_path / "conf/model/tiny_net.yaml").write_text("name: tiny_net\nwidth: 8\n")
    code = ("from hydra import compose, initialize_config_dir\n"
            "from omegaconf import OmegaConf\n"
            "import ablate.config.config_store\n"
            "from ablate.models import MODELS, build_model\n"
            f"with initialize_config_dir(config_dir={str(tmp_path / 'conf')!r}, version_base='1.3'):\n"
            "    cfg = compose('config', overrides=['model=tiny_net'])\n"
            "m = OmegaConf.to_container(cfg.model)\n"
            "print('tiny_net' in MODELS.names(), type(build_model(num_classes=10, **m)).__name__)\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True", "Sequential"]


def test_every_trainer_key_reaches_the_core_or_is_placement():
    """One schema for the trainer: a key the training core does not take must be placement (read by the job: where
    it logs, checkpoints, saves), or it would be set by users and silently ignored."""
    from dataclasses import fields
    from ablate.core.settings import TrainSettings
    from ablate.config.schema import TRAINER_KEYS, TrainerConfig, placement_keys
    core = {f.name for f in fields(TrainSettings)}
    placement = {k.split(".", 1)[1] for k in placement_keys("trainer")}
    assert set(TRAINER_KEYS) - core <= placement, set(TRAINER_KEYS) - core - placement
    for f in fields(TrainSettings):
        if f.name in TRAINER_KEYS:
            assert f.default == getattr(TrainerConfig, f.name), f.name      # defaults from the one schema
