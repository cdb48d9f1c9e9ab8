"""Where users already watch runs: TensorBoard and MLflow (the `logger` config group, any combination).

Each logger is a class registered with @register_logger and one YAML file in conf/logger/ whose top key is
its name (so `logger=[tensorboard,mlflow]` merges both under `logger`). The run record stays the source of
truth: loggers run in a background thread, and one that fails warns once and is switched off.
"""
from __future__ import annotations

from ablate.loggers.base import LOGGERS, LogContext, RunLoggers, metric_name, open_loggers, register_logger
from ablate.registry import import_all

import_all(__name__, __path__)    # every module here registers its loggers: a new file needs no import line

__all__ = ["LOGGERS", "LogContext", "RunLoggers", "metric_name", "open_loggers", "register_logger"]
