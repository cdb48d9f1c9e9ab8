"""Epoch times leave out the time a process spent stopped (SIGSTOP ... SIGCONT): a real stop, in a subprocess."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ablate.core import pauses
from ablate.core.timing import Timer

# a timed region of 2.5 s of wall time in which the loop marks progress the way the training loop does
CHILD = """
import time, torch
from ablate.core.pauses import PAUSES
from ablate.core.timing import Timer
timer = Timer(torch.device("cpu"))
timer.start()
print("started", flush=True)
end = time.perf_counter() + 2.5
while time.perf_counter() < end:
    PAUSES.mark()
    time.sleep(0.01)
print(timer.stop(), timer.stopped, flush=True)
"""


def _stop_once() -> tuple[float, float]:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started"
    time.sleep(0.3)
    os.kill(child.pid, signal.SIGSTOP)
    time.sleep(1.2)
    os.kill(child.pid, signal.SIGCONT)
    out, _ = child.communicate(timeout=60)
    seconds, stopped = map(float, out.split())
    return seconds, stopped


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="no SIGSTOP on this platform")
def test_a_stop_is_counted_and_left_out_of_the_timed_region():
    # one CI run counted 0.01 s of this stop: the race that the fake-clock test below pins down, since mended in
    # pauses.py. The tries remain for a loaded machine that delays this parent past the child's 2.5 s window.
    for _ in range(3):
        seconds, stopped = _stop_once()
        if stopped > 0.5:
            break
    assert 1.1 < stopped < 1.6            # the 1.2 s stop, give or take one 10 ms mark and the signals' delivery
    assert 0.9 < seconds < 1.5            # 2.5 s of wall time less the stop


def test_a_region_without_a_stop_counts_none():
    timer = Timer(torch.device("cpu"))
    timer.start()
    time.sleep(0.05)
    assert timer.stop() >= 0.05 and timer.stopped == 0.0


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(pauses.time, "perf_counter", fake)
    return fake


def _steps(pause_clock, clock, n, seconds=0.01):
    for _ in range(n):
        clock.now += seconds
        pause_clock.mark()


def test_a_stop_is_counted_when_the_main_thread_marked_steps_before_the_handler_ran(clock):
    # the race behind a CI failure: the SIGCONT went to another thread and the resumed main thread marked two
    # steps before Python ran the handler; the gap since the last mark (0.01 s) is not the stop
    paused = pauses.PauseClock()
    paused.begin()
    _steps(paused, clock, 5)
    clock.now += 1.2 + 0.004                            # stopped in the middle of a step
    paused.mark()
    _steps(paused, clock, 1)
    paused._on_continue(signal.SIGCONT, None)
    assert paused.stopped == pytest.approx(1.204)


def test_two_stops_are_each_counted_once(clock):
    paused = pauses.PauseClock()
    paused.begin()
    _steps(paused, clock, 3)
    clock.now += 2.0
    paused._on_continue(signal.SIGCONT, None)
    _steps(paused, clock, 3)
    clock.now += 0.5
    paused._on_continue(signal.SIGCONT, None)
    assert paused.stopped == pytest.approx(2.5)


def test_a_long_gap_before_the_region_began_is_not_taken_for_a_stop(clock):
    paused = pauses.PauseClock()
    paused.mark()
    clock.now += 30.0                                   # an evaluation, unmarked, before the timed region
    paused.begin()
    _steps(paused, clock, 3)
    paused._on_continue(signal.SIGCONT, None)           # a SIGCONT that ended no stop (sent to a running process)
    assert paused.stopped == pytest.approx(0.01)        # one step at most, never the evaluation


def test_a_handler_between_a_regions_clear_and_its_first_mark_counts_nothing(clock):
    paused = pauses.PauseClock()
    paused.marks.clear()                                # where begin() is, between its two lines
    paused._on_continue(signal.SIGCONT, None)
    assert paused.stopped == 0.0 and len(paused.marks) == 1
