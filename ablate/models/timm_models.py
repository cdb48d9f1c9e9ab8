"""Any timm model by name (`model=timm model.arch=resnet18`), from the optional extra `pip install -e ".[timm]"`.
timm builds the network for the data's classes and channels; pretrained weights come from a local file or timm's
hub cache (offline: set HF_HUB_OFFLINE=1 once the cache holds them). timm's ImageNet models downsample 32x32
images to 1x1 before the head; for CIFAR-size data resize (data.image_size) or pick an architecture made for it."""
from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from ablate.errors import ConfigError, ModelError
from ablate.models.freeze import freeze as freeze_parts
from ablate.models.registry import register_model


def _timm():
    try:
        import timm
    except ImportError:
        raise ConfigError('model=timm needs the timm package: pip install -e ".[timm]" (or pip install timm)') from None
    return timm


def _check_arch(arch: str):
    timm = _timm()
    if arch not in timm.list_models():
        close = timm.list_models(f"*{arch.split('_')[0]}*")[:8]
        raise ConfigError(f"model.arch={arch!r} is not a timm model: pick one of timm.list_models()"
                          + (f", e.g. {', '.join(close)}" if close else ""))
    return timm


@register_model("timm")
def timm_model(num_classes: int, image_size: int = 32, in_channels: int = 3, arch: str = "resnet18",
               pretrained: bool | str = False, freeze: bool | list = False, drop_rate: float = 0.0) -> nn.Module:
    """arch: a timm model name (timm.list_models()); pretrained: false, true (timm's weights, hub cache) or a
    weights file; freeze: true (all but the classifier) or named parts."""
    timm = _check_arch(arch)
    options = {"num_classes": num_classes, "in_chans": in_channels, "drop_rate": drop_rate}
    if isinstance(pretrained, str):
        if not Path(pretrained).expanduser().is_file():
            raise ModelError(f"model.pretrained={pretrained}: no such file: put the {arch} weights there, or set "
                             f"model.pretrained=true (timm's hub cache) or false")
        options.update(pretrained=True, pretrained_cfg_overlay={"file": str(Path(pretrained).expanduser())})
    else:
        options["pretrained"] = bool(pretrained)
    try:
        model = timm.create_model(arch, **options)
    except Exception as e:   # noqa: BLE001 - weights unreachable offline, or a model that rejects the options
        raise ModelError(f"timm could not build {arch} ({type(e).__name__}: {e}): with model.pretrained=true "
                         f"offline, fill timm's hub cache once or pass a weights file") from None
    return freeze_parts(model, freeze, head=model.get_classifier())


timm_model.precheck = lambda image_size, arch="resnet18", **keys: _check_arch(arch) and None
