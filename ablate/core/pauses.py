"""Seconds this process spent stopped, so that epoch times measure training and not a pause.

A process stopped by SIGSTOP (a campaign paused for a test run, Ctrl-Z, a SLURM suspend) cannot see the stop
begin; it sees the SIGCONT that ends it. The training loop marks every step (`mark`: one clock read, no device
sync) and the SIGCONT handler counts the longest gap between the marks of the region under way as stopped:
no mark falls inside a stop, so the stop lies within one gap, and the count errs by at most one step.

The handler does not run at the moment of the SIGCONT: the kernel may hand the signal to another thread (torch
starts many), and Python runs the handler in the main thread at its next check. Meanwhile the resumed main thread
may already have marked a step or two, so the handler cannot take the gap since the last mark (that lost a whole
stop on a loaded machine); it looks back over the last `HISTORY` marks of the region, from its `begin`.

Where no handler can be installed (not the main thread, no SIGCONT on this platform) nothing is counted, and epoch
times are plain wall time as before.
"""
from __future__ import annotations

import signal
import threading
import time
from collections import deque

HISTORY = 64                                # marks looked back over: the handler runs within a few steps of the stop


class PauseClock:
    def __init__(self):
        self.stopped = 0.0                  # seconds stopped since this process installed the handler
        self.marks = deque([time.perf_counter()], maxlen=HISTORY)
        self.installed = False
        self._previous = None

    def install(self) -> bool:
        """Count stops from now on (idempotent); False where it cannot (see the module's docstring)."""
        if not self.installed and hasattr(signal, "SIGCONT") and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGCONT, self._on_continue)
            self.installed = True
        return self.installed

    def begin(self) -> None:
        """A timed region starts now: gaps before it (an evaluation, a checkpoint) are never taken for a stop."""
        self.marks.clear()
        self.mark()

    def mark(self) -> None:
        """The process was running now."""
        self.marks.append(time.perf_counter())

    def _on_continue(self, signum, frame) -> None:
        now = time.perf_counter()
        times = [*self.marks, now]          # no marks only between begin's clear and its mark: nothing to count
        self.stopped += max((b - a for a, b in zip(times, times[1:])), default=0.0)
        self.marks.clear()                  # this stop is counted: the next handler looks only at later gaps
        self.marks.append(now)
        if callable(self._previous):        # a handler someone installed before us still runs
            self._previous(signum, frame)


PAUSES = PauseClock()
