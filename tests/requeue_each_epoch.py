"""A Hydra callback for tests/test_resume.py: it preempts a submitit job after each epoch it trains, so a job of N
epochs needs exactly N time slots (N - 1 requeues) whatever the machine's speed.

The job receives the very signal submitit_local sends at a time limit (LocalJobEnvironment._usr_sig()), and
submitit's own handler checkpoints and requeues it; only the moment is chosen by construction (just after an
epoch's checkpoint is whole: ablate writes it before that epoch's row in history.csv), not by the clock."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from hydra.experimental.callback import Callback


def epochs_in(history: Path) -> int:
    try:
        return max(len(history.read_text().strip().splitlines()) - 1, 0)
    except OSError:
        return 0


class RequeueAfterEachEpoch(Callback):
    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_job_start(self, config, **kwargs) -> None:
        from submitit.local.local import LocalJobEnvironment
        history = Path(config.hydra.runtime.output_dir) / "history.csv"
        done_before = epochs_in(history)     # what earlier slots trained (the resume rewrites the same rows)

        def watch() -> None:
            while True:
                done = epochs_in(history)
                if done >= self.epochs:      # the last epoch: let the job finish and write its record
                    return
                if done > done_before:       # one epoch trained and checkpointed in this slot: preempt
                    os.kill(os.getpid(), LocalJobEnvironment._usr_sig())
                    return
                time.sleep(0.05)

        threading.Thread(target=watch, daemon=True).start()
