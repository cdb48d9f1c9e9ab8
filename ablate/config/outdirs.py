"""Before Hydra makes any folder: the run or sweep folder must be one that can be created and written,
else one message that names the folder, why, and the fix (Hydra's own failure is a traceback)."""
from __future__ import annotations

import os
from pathlib import Path

from ablate.config.naming import override_key

KEYS = ("hydra.run.dir", "hydra.sweep.dir")


def output_dir_problem(path: Path, key: str) -> str | None:
    """Why `path` cannot be created or written (None when it can)."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return (f"{key}={path} cannot be created: {existing} is a file, not a folder. "
                f"Fix: set {key} to a path under a folder, e.g. {key}={existing.parent / 'runs'}")
    if not os.access(existing, os.W_OK | os.X_OK):
        return (f"{key}={path} cannot be {'written' if existing == path else 'created'}: no write permission "
                f"in {existing}. Fix: set {key} to a folder you can write to, e.g. {key}=~/ablate-runs/NAME")
    return None


def check_output_dirs(argv: list[str], cwd: Path) -> str | None:
    """The first problem with the run/sweep folders the command line names (or with the current folder,
    where the default outputs/ and multirun/ go)."""
    named = [(override_key(a), a.partition("=")[2]) for a in argv if "=" in a and override_key(a) in KEYS]
    targets = [(k, Path(v).expanduser()) for k, v in named if "${" not in v] or [("the current folder", cwd)]
    for key, path in targets:
        problem = output_dir_problem(path if path.is_absolute() else cwd / path, key)
        if problem:
            return problem
    return None
