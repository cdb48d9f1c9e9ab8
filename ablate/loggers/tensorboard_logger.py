"""TensorBoard: event files in each job's own folder, so `tensorboard --logdir SWEEP_DIR` lists one run per job
(named by its folder: its overrides). Per-epoch scalars, the final metrics, the confusion matrix and curves as
images, and the config with the final metrics in the HParams view. A resumed job appends to its folder: it
rewrites the epochs of its checkpoint and TensorBoard drops what the stopped process had logged (purge_step),
so the curves show each epoch once, also an epoch that ended just before a kill."""
from __future__ import annotations

from pathlib import Path

from ablate.record.identity import flatten
from ablate.loggers.base import LogContext, epoch_metrics, final_metrics, register_logger
from ablate.loggers.figures import job_figures

EVENTS = "events.out.tfevents.*"


def hparam_value(value):
    """HParams take numbers, strings and booleans: anything else as its text."""
    return value if isinstance(value, (bool, int, float, str)) else str(value)


@register_logger("tensorboard")
class TensorBoardLogger:
    requires = ("tensorboard",)

    def __init__(self, figures: bool = True, hparams: bool = True):
        self.figures, self.hparams = figures, hparams
        self.writer = None
        self.step = 0

    def start(self, context: LogContext) -> None:
        from torch.utils.tensorboard import SummaryWriter

        job_dir = Path(context.job_dir)
        if not context.resumed_epoch:        # a job started afresh: the events of an earlier attempt go
            for old in job_dir.glob(EVENTS):
                old.unlink()
        self.config = context.config
        self.writer = SummaryWriter(log_dir=str(job_dir), purge_step=1 if context.resumed_epoch else None)
        self.step = 0
        for row in context.history:
            self.log_epoch(row)

    def log_epoch(self, row: dict) -> None:
        self.step = int(row["epoch"])
        for tag, value in epoch_metrics(row).items():
            self.writer.add_scalar(tag, value, self.step)
        self.writer.flush()     # readable while the job trains

    def finish(self, record: dict) -> None:
        final = final_metrics(record)
        for tag, value in final.items():
            self.writer.add_scalar(tag, value, self.step)
        if self.figures:
            for name, fig in job_figures(Path(self.writer.log_dir)).items():
                self.writer.add_figure(f"figures/{name}", fig, self.step)      # closes the figure
        if self.hparams:
            self._write_hparams(final)
        self.writer.flush()

    def _write_hparams(self, final: dict) -> None:
        """The composed config and the final metrics as one HParams session in this run's own folder (torch's
        add_hparams would write a second, timestamped run)."""
        from torch.utils.tensorboard.summary import hparams

        params = {k: hparam_value(v) for k, v in flatten(self.config).items() if not k.startswith("logger.")}
        for summary in hparams(params, final):
            self.writer.file_writer.add_summary(summary)

    def close(self, status: str) -> None:
        if self.writer is not None:
            self.writer.close()
