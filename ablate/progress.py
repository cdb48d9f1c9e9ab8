"""Live progress for one run: a tqdm bar on a terminal, plain log lines elsewhere."""
from __future__ import annotations

import logging
import sys

log = logging.getLogger("ablate")


def _fmt(row: dict) -> str:
    val = row.get("val_acc")
    val_s = f"{val:.2%}" if val == val and val is not None else "-"
    return (f"loss {row['train_loss']:.4f} train {row['train_acc']:.2%} val {val_s} "
            f"lr {row['lr']:.4g} {row['images_per_second']:,.0f} img/s")


class Progress:
    def __init__(self, epochs: int, label: str, mode: str = "auto"):
        self.epochs, self.label = epochs, label
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode = mode
        self.bar = None
        if mode == "bar":
            from tqdm.auto import tqdm
            self.bar = tqdm(total=epochs, desc=label, unit="ep", leave=False, dynamic_ncols=True)

    def __call__(self, row: dict) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(_fmt(row))
            self.bar.update(1)
        elif self.mode == "log":
            log.info("%s epoch %d/%d %s", self.label, row["epoch"], self.epochs, _fmt(row))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
