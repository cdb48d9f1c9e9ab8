"""Seconds this process spent stopped, so that epoch times measure training and not a pause.

A process stopped by SIGSTOP (a campaign paused for a test run, Ctrl-Z, a SLURM suspend) cannot see the stop
begin; it sees the SIGCONT that ends it. The training loop marks every step (`mark`: one clock read, no device
sync) and the SIGCONT handler counts the time since the last mark as stopped, so the count errs by at most the
one step that was under way. Where no handler can be installed (not the main thread, no SIGCONT on this
platform) nothing is counted, and epoch times are plain wall time as before.
"""
from __future__ import annotations

import signal
import threading
import time


class PauseClock:
    def __init__(self):
        self.stopped = 0.0                  # seconds stopped since this process installed the handler
        self.last_mark = time.perf_counter()
        self.installed = False
        self._previous = None

    def install(self) -> bool:
        """Count stops from now on (idempotent); False where it cannot (see the module's docstring)."""
        if not self.installed and hasattr(signal, "SIGCONT") and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGCONT, self._on_continue)
            self.installed = True
        return self.installed

    def mark(self) -> None:
        """The process was running now."""
        self.last_mark = time.perf_counter()

    def _on_continue(self, signum, frame) -> None:
        now = time.perf_counter()
        self.stopped += max(0.0, now - self.last_mark)
        self.last_mark = now
        if callable(self._previous):        # a handler someone installed before us still runs
            self._previous(signum, frame)


PAUSES = PauseClock()
