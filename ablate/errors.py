"""Errors a user can fix. Each message names the problem and the fix; the CLI prints it without a traceback."""


class AblateError(Exception):
    """Base class: an error whose message is meant for the user, not a stack trace."""


class ConfigError(AblateError):
    """A config value is missing, of the wrong type or out of range."""


class DataError(AblateError):
    """A dataset is missing, truncated, corrupt or malformed."""


class ModelError(AblateError):
    """A model cannot be built (unknown name, weights that cannot be fetched)."""


class TrainingError(AblateError):
    """Training could not go on (loss became NaN, out of memory)."""


class CheckpointError(AblateError):
    """A job folder holds a checkpoint that cannot resume this run (written for another config)."""
