"""The training core: plain arguments in, metrics out. No Hydra here."""
from ablate.core.settings import OptimSettings, ScheduleSettings, TrainSettings
from ablate.core.state import TrainState
from ablate.core.train import Run, TrainResult, evaluate, finish, setup, train, train_epoch

__all__ = ["OptimSettings", "ScheduleSettings", "TrainSettings", "TrainState", "TrainResult", "Run",
           "setup", "train_epoch", "evaluate", "finish", "train"]
