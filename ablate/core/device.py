"""The run's device: which one `trainer.device` names, what it runs natively (bf16, fused optimizer steps), how
much memory it has free, and the backend switches a run sets on it (determinism, TF32)."""
from __future__ import annotations

import logging
import os

import torch

from ablate.data import resize
from ablate.errors import TrainingError

log = logging.getLogger("ablate")
CUBLAS_DETERMINISTIC = ":4096:8"   # the cuBLAS workspace setting deterministic algorithms need on CUDA >= 10.2


def resolve_device(name: str) -> torch.device:
    """trainer.device as a torch.device with its index: auto -> cuda (the current GPU) when one is visible."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
            log.warning("trainer.device=auto runs on the CPU: CUDA_VISIBLE_DEVICES is set but empty, which hides "
                        "every GPU (hydra/launcher=submitit_local does this unless hydra.launcher.gpus_per_node "
                        "is set)")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError(f"trainer.device={name} but no CUDA device is available: use trainer.device=cpu "
                                f"or auto")
        count = torch.cuda.device_count()
        index = torch.cuda.current_device() if device.index is None else device.index
        if index >= count:
            raise TrainingError(f"trainer.device={name} but this machine has {count} CUDA device(s), "
                                f"cuda:0 to cuda:{count - 1}: use one of those, or trainer.device=auto")
        return torch.device("cuda", index)
    if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise TrainingError(f"trainer.device={name} but this machine has no MPS device: use trainer.device=auto")
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether the device runs bf16 matmuls and convolutions in hardware: CUDA GPUs of compute capability 8.0
    or more (Ampere on; V100 and T4 emulate it), CPUs with AMX or AVX512-BF16 (elsewhere oneDNN emulates bf16,
    several times slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device)[0] >= 8
    if device.type == "cpu":
        return torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """auto -> bf16 where the hardware runs it natively, else fp32; fp32 and bf16 as asked."""
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def fused_step_available(device: torch.device) -> bool:
    """Whether this torch has fused optimizer kernels (SGD, Adam, AdamW) for the device type."""
    try:
        from torch.optim.optimizer import _get_fused_kernels_supported_devices
        return device.type in _get_fused_kernels_supported_devices()
    except ImportError:      # an older torch: CUDA only
        return device.type == "cuda"


def set_backends(device: torch.device, deterministic: bool, cudnn_benchmark: bool) -> None:
    """The process-wide switches, set both ways (the basic launcher runs every job of a sweep in one process).
    TF32 is always off: fp32 means fp32 on Ampere and later too (trainer.precision=bf16 is the fast path)."""
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC)   # read when cuBLAS starts
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = cudnn_benchmark and not deterministic
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if device.type == "cuda":
        torch.cuda.set_device(device)    # CUDA events, streams and the context on the run's own GPU


def resident_budget(device: torch.device) -> int:
    """Bytes of uint8 images a run may keep resident on the device: half of a GPU's free memory (the rest is
    for the model, its activations and the allocator), a fixed budget on the CPU (resize.RESIZE_ONCE_BUDGET)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free // 2
    return resize.RESIZE_ONCE_BUDGET


def free_cached_memory() -> None:
    """After an out-of-memory failure: give the allocator's cached blocks back, so the next job starts clean."""
    import gc
    gc.collect()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
