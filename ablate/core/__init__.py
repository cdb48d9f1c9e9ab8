"""The training core: plain arguments in, metrics out. No Hydra here."""
from ablate.core.settings import OptimSettings, ScheduleSettings, TrainSettings
from ablate.core.train import TrainResult, train

__all__ = ["OptimSettings", "ScheduleSettings", "TrainSettings", "TrainResult", "train"]
