from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "conf"
# every `python -m ablate` a test starts in a subprocess imports this checkout, whatever else is installed (a
# venv with another clone installed would otherwise be what the subprocess tests test)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
# a tiny small_cnn so CPU tests take seconds
TINY = ["data=synthetic", "model=small_cnn", "model.widths=[8,16,16,32]", "trainer.batch_size=64", "trainer.device=cpu",
        "trainer.progress=log"]


@pytest.fixture
def make_cfg():
    """Compose the config the way `python -m ablate` does, from a list of overrides."""
    def _make(overrides=(), hydra_cfg=False):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("config", overrides=list(overrides), return_hydra_config=hydra_cfg)
    return _make


def run_ablate(args, cwd, module="ablate", timeout=600, env=None):
    """Run `python -m ablate ...` (or another module) in a subprocess, as a user would."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("ABLATE_STAMP", None)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


@pytest.fixture
def ablate_cli():
    return run_ablate
