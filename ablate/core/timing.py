"""The running time of a training pass: wall time less the time the process spent stopped."""
from __future__ import annotations

import time

import torch

from ablate.core.pauses import PAUSES


class Timer:
    """Running time of a region: wall time less the time the process spent stopped (`pauses.PAUSES`); on CUDA
    measured with events, synchronised only when read."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.stopped = 0.0                  # seconds stopped within the last region timed

    def start(self):
        PAUSES.install()
        PAUSES.begin()
        self._stopped_before = PAUSES.stopped
        if self.cuda:
            self._s = torch.cuda.Event(enable_timing=True)
            self._e = torch.cuda.Event(enable_timing=True)
            self._s.record()
        else:
            self._t = time.perf_counter()

    def stop(self) -> float:
        if self.cuda:
            self._e.record()
            self._e.synchronize()
            wall = self._s.elapsed_time(self._e) / 1000
        else:
            wall = time.perf_counter() - self._t
        self.stopped = min(PAUSES.stopped - self._stopped_before, wall)
        return wall - self.stopped
