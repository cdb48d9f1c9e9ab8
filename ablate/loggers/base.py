"""The logger registry, what a logger is told about its run, and RunLoggers: every call goes through one
background thread, so a slow or dead tracking server never slows training, and a logger that raises warns
once and is off for the rest of the run."""
from __future__ import annotations

import importlib.util
import logging
import math
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ablate.errors import ConfigError
from ablate.registry import Registry

log = logging.getLogger("ablate")
LOGGERS = Registry("logger", "logger", "ablate/loggers/ (with @register_logger) and conf/logger/")
register_logger = LOGGERS.register
CLOSE_TIMEOUT = 60.0   # seconds a finished run waits for its loggers before it moves on without them


@dataclass
class LogContext:
    """What a logger knows about its job when it starts."""
    job_dir: Path
    label: str                      # the job's override string (its folder name in a sweep)
    config: dict                    # the composed config, resolved
    sweep_dir: Path | None = None   # None for a single run
    resumed_epoch: int = 0          # epochs already done when this process took the job over (0: fresh)
    history: list[dict] = field(default_factory=list)   # their rows: a logger adds those it missed


def metric_name(key: str) -> str:
    """A history / record key as the loggers name it: train_loss -> train/loss, test_acc_tta -> test/acc_tta;
    keys of no split stay as they are (lr, images_per_second)."""
    split, _, rest = key.partition("_")
    return f"{split}/{rest}" if split in ("train", "val", "test") and rest else key


def scalars(row: dict) -> dict[str, float]:
    """The finite numbers of a history row or a record's metrics (lists, dicts, NaN and None left out)."""
    out = {}
    for key, value in row.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        out[key] = float(value)
    return out


def epoch_metrics(row: dict) -> dict[str, float]:
    """A history row as every logger names it (train/loss, val/acc, lr, ...), its epoch left out (the step)."""
    return {metric_name(k): v for k, v in scalars(row).items() if k != "epoch"}


def final_metrics(record: dict) -> dict[str, float]:
    """A completed record's metrics as every logger names them: final/test_acc, final/test_acc_tta, ..."""
    return {f"final/{k}": v for k, v in scalars(record.get("metrics") or {}).items()}


class RunLoggers:
    """The loggers of one job. start / log_epoch / finish / close queue a call that a worker thread makes on
    every logger still on; close waits at most CLOSE_TIMEOUT seconds for the queue to drain."""

    def __init__(self, loggers: dict[str, object], label: str = "run"):
        self.loggers, self.label = loggers, label
        self.off: set[str] = set()
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def _submit(self, method: str, *args) -> None:
        if not self.loggers:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="ablate-loggers", daemon=True)
            self._thread.start()
        self._queue.put((method, args))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            method, args = item
            for name, logger in self.loggers.items():
                if name in self.off:
                    continue
                try:
                    getattr(logger, method)(*args)
                except Exception as e:  # noqa: BLE001 - a logger never fails the run
                    self.off.add(name)
                    log.warning("%s: logger %s failed in %s (%s: %s); it is off for the rest of this run, which "
                                "goes on: its record (results.json, history.csv) is complete", self.label, name,
                                method, type(e).__name__, e)

    def start(self, context: LogContext) -> None:
        self._submit("start", context)

    def log_epoch(self, row: dict) -> None:
        self._submit("log_epoch", dict(row))

    def finish(self, record: dict) -> None:
        self._submit("finish", record)

    def close(self, status: str, timeout: float | None = None) -> None:
        """End every logger's run with the job's status (completed, failed, interrupted)."""
        if self._thread is None:
            return
        self._submit("close", status)
        self._queue.put(None)
        self._thread.join(CLOSE_TIMEOUT if timeout is None else timeout)
        if self._thread.is_alive():
            log.warning("%s: the loggers (%s) were still busy %.0f s after the run ended; going on without "
                        "them (the record is complete)", self.label, ", ".join(self.loggers), CLOSE_TIMEOUT)
        self._thread = None


def _check_installed(name: str, logger_class) -> None:
    for module in getattr(logger_class, "requires", ()):
        if importlib.util.find_spec(module) is None:
            raise ConfigError(f"logger={name} needs the {module} package, which is not installed: "
                              f"pip install -e '.[{name}]' (or pip install {module}), or drop {name} from logger")


def open_loggers(logger_cfg: dict | None, label: str = "run") -> RunLoggers:
    """The loggers a config's `logger` node asks for ({name: its keys}), each checked before any work: a known
    name, known keys, its package installed."""
    built = {}
    for name, params in (logger_cfg or {}).items():
        params = dict(params or {})
        LOGGERS.check(name, params, where=f"logger.{name}")
        _check_installed(name, LOGGERS.get(name))
        built[name] = LOGGERS.build(name, **params)
    return RunLoggers(built, label)
