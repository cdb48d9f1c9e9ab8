"""Where and how a result was made: git sha, device, library versions, host, date, command line."""
from __future__ import annotations

import datetime as _dt
import platform
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import torch

PROJECT_DIR = Path(__file__).resolve().parents[2]


def git_sha(cwd: Path = PROJECT_DIR) -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        if not sha:
            return None
        # outputs written under experiments/ do not make the code that wrote them dirty
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)experiments"], cwd=cwd, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def device_name(device: str) -> str:
    try:
        d = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                         "cpu" if device == "auto" else device)
    except RuntimeError:
        return str(device)
    if d.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(d)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def command_line() -> str:
    """The command as the user typed it: `python -m ablate ...` rather than `.../__main__.py ...`."""
    exe = Path(sys.argv[0]).resolve()
    if exe.suffix == ".py" and exe.is_relative_to(PROJECT_DIR / "ablate"):
        parts = list(exe.with_suffix("").relative_to(PROJECT_DIR).parts)
        head = ["python", "-m", ".".join(parts[:-1] if parts[-1] == "__main__" else parts)]
    else:
        head = [Path(sys.argv[0]).name]
    return " ".join(head + [shlex.quote(a) for a in sys.argv[1:]])


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model as Linux names it, with family, model and stepping (a VM often shows a generic name, and
    the numbers still tell two machines apart); the platform's word for it elsewhere."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return platform.processor() or platform.machine()
    first = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        first.setdefault(key.strip(), value.strip())
    numbers = ", ".join(f"{k} {first[k]}" for k in ("cpu family", "model", "stepping") if first.get(k))
    name = first.get("model name") or platform.processor() or platform.machine()
    return f"{name} ({numbers})" if numbers else name


def cpu_features() -> dict:
    """What decides CPU speed here: the model, the ISA torch dispatches to, native bf16 (AMX, AVX512-BF16)."""
    return {"model": cpu_model(), "capability": torch.backends.cpu.get_cpu_capability(),
            "amx": torch.cpu._is_amx_tile_supported(), "avx512_bf16": torch.cpu._is_avx512_bf16_supported(),
            "threads": torch.get_num_threads()}


def environment(device: str = "cpu") -> dict:
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "device": device,
        "device_name": device_name(device),
        "cpu": cpu_features(),
        "git_sha": git_sha(),
        "host": socket.gethostname(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
    }
