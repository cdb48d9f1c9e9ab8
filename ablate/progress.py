"""Live progress for one run: a tqdm bar on a terminal, plain log lines elsewhere."""
from __future__ import annotations

import logging
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


class Progress:
    def __init__(self, epochs: int, label: str, mode: str = "auto"):
        self.epochs, self.label = epochs, label
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
        """Time left from this process's median wall time per epoch (training and evaluation together): an
        epoch stretched by a suspended or shared machine does not move the estimate much."""
        now = time.monotonic()
        self.walls.append(now - self.last)
        self.last = now
        left = self.epochs - row["epoch"]
        if not left:
            return ""
        eta = statistics.median(self.walls) * left
        text = f", eta {_duration(eta)} (~{time.strftime('%H:%M', time.localtime(time.time() + eta))})"
        if len(self.walls) == 1:
            log.info("%s: %s per epoch, %d epoch(s) left, done in about %s", self.label,
                     _duration(eta / left), left, _duration(eta))
        return text

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
