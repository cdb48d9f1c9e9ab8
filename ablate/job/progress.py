"""Live progress for one run: a tqdm bar on a terminal, plain log lines elsewhere."""
from __future__ import annotations

import logging
import math
import statistics
import sys
import time

log = logging.getLogger("ablate")


def _fmt(row: dict) -> str:
    val = row.get("val_acc")
    val_s = f"{val:.2%}" if val == val and val is not None else "-"
    return (f"loss {row['train_loss']:.4f} train {row['train_acc']:.2%} val {val_s} "
            f"lr {row['lr']:.4g} {row['images_per_second']:,.0f} img/s")


def _duration(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def finish_clock(seconds_from_now: float, now: float | None = None) -> str:
    """The local clock time that far ahead: HH:MM on the same day, with the weekday and date on another day
    ('Wed 09 Dec 06:59'), so an ETA two days out does not read as 25 minutes away."""
    now = time.time() if now is None else now
    at, today = time.localtime(now + seconds_from_now), time.localtime(now)
    return time.strftime("%H:%M" if at[:3] == today[:3] else "%a %d %b %H:%M", at)


STRETCHED = 2.0   # an epoch this many times the fastest one spanned a pause (SIGSTOP, a suspended machine)


def typical_epoch_seconds(seconds: list[float]) -> float | None:
    """The median epoch time over the epochs that were not stretched: those within STRETCHED x the fastest.
    Training epochs of one run take about the same time, so an epoch much longer than the fastest spent its
    extra time stopped (a paused job, a suspended machine) or warming up, and would inflate an ETA; the median
    of the rest then shrugs off ordinary jitter. None when there is no epoch."""
    if not seconds:
        return None
    fastest = min(seconds)
    return statistics.median(s for s in seconds if s <= STRETCHED * fastest)


class Progress:
    def __init__(self, epochs: int, label: str, mode: str = "auto"):
        self.epochs, self.label = math.ceil(epochs), label     # a fractional last epoch is one more line
        self.start = self.last = time.monotonic()
        self.walls: list[float] = []     # wall seconds of each epoch this process ran
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode = mode
        self.bar = None
        if mode == "bar":
            from tqdm.auto import tqdm
            self.bar = tqdm(total=epochs, desc=label, unit="ep", leave=False, dynamic_ncols=True)

    def __call__(self, row: dict) -> None:
        if self.bar is not None:
            if self.bar.n == 0 and row["epoch"] > 1:    # resumed: the bar starts where the run is
                self.bar.update(row["epoch"] - 1)
            self.bar.set_postfix_str(_fmt(row))
            self.bar.update(1)
        elif self.mode == "log":
            log.info("%s epoch %d/%d %s%s", self.label, row["epoch"], self.epochs, _fmt(row), self._eta(row))

    def _eta(self, row: dict) -> str:
        """Time left from this process's typical wall time per epoch (training and evaluation together), less the
        time the core saw it stopped (SIGSTOP: `stopped_seconds`, so a first epoch that spanned a pause does not
        set the first estimate); epochs stretched by a pause the core did not see, or a suspended machine, are
        left out (`typical_epoch_seconds`)."""
        now = time.monotonic()
        self.walls.append(max(now - self.last - (row.get("stopped_seconds") or 0.0), 0.0))
        self.last = now
        left = self.epochs - row["epoch"]
        if not left:
            return ""
        eta = typical_epoch_seconds(self.walls) * left
        text = f", eta {_duration(eta)} (~{finish_clock(eta)})"
        if len(self.walls) == 1:
            log.info("%s: %s per epoch, %d epoch(s) left, done in about %s", self.label,
                     _duration(eta / left), left, _duration(eta))
        return text

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
