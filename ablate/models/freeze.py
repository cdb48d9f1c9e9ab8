"""Freezing for transfer learning. model.freeze: false, true (everything but the head) or a list of named
parts (module names such as [conv1, bn1, layer1] or [features]). Frozen BatchNorm layers keep their running
statistics: the training core puts them in eval mode (core.train.train_mode)."""
from __future__ import annotations

import torch.nn as nn

from ablate.errors import ConfigError


def freeze(model: nn.Module, parts, head: nn.Module) -> nn.Module:
    if parts is False or parts is None or (isinstance(parts, (list, tuple)) and not parts):
        return model
    if parts is True:
        keep = {id(p) for p in head.parameters()}
        frozen = [p for p in model.parameters() if id(p) not in keep]
    elif isinstance(parts, (list, tuple)) and all(isinstance(p, str) for p in parts):
        modules = dict(model.named_modules())
        unknown = [p for p in parts if p not in modules]
        if unknown:
            top = [n for n, _ in model.named_children()]
            raise ConfigError(f"model.freeze names {unknown}, which this model does not have: name parts among "
                              f"{top} (or their sub-modules, e.g. {top[-2] if len(top) > 1 else top[0]}.0)")
        frozen = [p for name in parts for p in modules[name].parameters()]
    else:
        raise ConfigError(f"model.freeze must be true, false or a list of parts such as [conv1,layer1], got "
                          f"{parts!r}: set model.freeze=true (all but the head) or model.freeze=false")
    for p in frozen:
        p.requires_grad_(False)
    return model
