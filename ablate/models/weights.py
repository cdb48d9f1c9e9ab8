"""Saved weights: `model.pt` (final) and `model_best.pt` (best validation accuracy) in a job folder, and
starting a new run from them (`model.init_from`)."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ablate.record.atomic import atomic_write
from ablate.errors import ModelError

FINAL, BEST = "model.pt", "model_best.pt"


def save_weights(path: str | Path, model: nn.Module, meta: dict) -> None:
    """The model's state dict (BatchNorm buffers included) and what built it, written atomically."""
    state = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}
    atomic_write(path, lambda f: torch.save({"model_state": state, **meta}, f), binary=True)


def weights_file(path: str | Path) -> Path:
    """A model.pt itself, or a job folder that holds one."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / FINAL
    if not p.is_file():
        raise ModelError(f"model.init_from={path}: {p} does not exist: give a model.pt, or a job folder that "
                         f"holds one (runs save it unless trainer.save_model=false)")
    return p


def load_initial_weights(model: nn.Module, path: str | Path) -> dict:
    """Copy saved weights into a freshly built model; a different architecture or class count is an error
    that names the mismatching tensors. Returns the saved file's metadata."""
    p = weights_file(path)
    try:
        saved = torch.load(p, map_location="cpu", weights_only=True)
        state = saved["model_state"]
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"model.init_from={path}: cannot read {p} ({type(e).__name__}: {e}): "
                         f"point it at a model.pt written by ablate") from None
    own = model.state_dict()
    shapes = [f"{k} {tuple(v.shape)} saved vs {tuple(own[k].shape)} here"
              for k, v in state.items() if k in own and v.shape != own[k].shape]
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if shapes or missing or unexpected:
        built = f"{saved.get('model', {}).get('name', '?')} with {saved.get('num_classes', '?')} classes"
        detail = "; ".join(shapes[:3] + [f"missing here: {', '.join(unexpected[:3])}"] * bool(unexpected)
                           + [f"not in the file: {', '.join(missing[:3])}"] * bool(missing))
        raise ModelError(f"model.init_from={path}: the saved weights ({built}, {saved.get('model')}) do not fit "
                         f"this model ({detail}): use the same model.* settings and a dataset with the same "
                         f"number of classes, or drop model.init_from")
    model.load_state_dict(state)
    return {k: v for k, v in saved.items() if k != "model_state"}
