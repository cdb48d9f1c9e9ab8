"""MLflow: one MLflow run per job, nested under one parent run per sweep, in an experiment named after the
sweep folder. Params: the composed config, flattened; metrics per epoch (step = epoch) and the final ones;
artifacts: the record, the history and the figures. A resumed job continues its MLflow run (its id is kept in
the job folder). Tracking URI: logger.mlflow.tracking_uri, else $MLFLOW_TRACKING_URI, else
sqlite:///mlflow.db in the folder the command ran from (open it with `mlflow ui --backend-store-uri ...`)."""
from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from ablate.record import files as records
from ablate.record.identity import flatten
from ablate.loggers.base import LogContext, epoch_metrics, final_metrics, metric_name, register_logger
from ablate.loggers.figures import job_figures

RUN_FILE = "mlflow_run.json"          # in the job folder: the MLflow run a resumed job continues
PARENT_FILE = "mlflow_parent.json"    # in the sweep folder: the sweep's parent run, per tracking URI
STATUS = {records.COMPLETED: "FINISHED", records.FAILED: "FAILED", records.INTERRUPTED: "KILLED"}
BATCH = 100                           # MLflow takes at most 100 params per request


def default_tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def artifact_location(tracking_uri: str) -> str | None:
    """For a SQLite store, artifacts go beside its file (mlruns/ there), not into whatever folder the job runs
    from; a server decides for itself (None)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    return str(Path(tracking_uri[len(prefix):]).resolve().parent / "mlruns")


def experiment_name(context: LogContext) -> str:
    """The sweep folder (relative to the working folder when inside it); single runs share 'ablate'."""
    if context.sweep_dir is None:
        return "ablate"
    sweep = Path(context.sweep_dir).resolve()
    try:
        return str(sweep.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(sweep)


@contextlib.contextmanager
def sweep_lock(sweep_dir: Path | None):
    """An exclusive lock on the sweep folder's .mlflow.lock (nothing to lock for a single run): the jobs of a
    parallel sweep would otherwise race to create the SQLite store's tables and the sweep's parent run."""
    if sweep_dir is None:
        yield
        return
    import fcntl      # POSIX only: imported here so that ablate itself imports anywhere
    Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(sweep_dir) / ".mlflow.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@register_logger("mlflow")
class MlflowLogger:
    requires = ("mlflow",)

    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None, artifacts: bool = True):
        self.tracking_uri, self.experiment, self.artifacts = tracking_uri, experiment, artifacts
        self.client = self.run_id = self.parent_id = None
        self.step = 0

    def start(self, context: LogContext) -> None:
        from mlflow import MlflowClient

        self.tracking_uri = self.tracking_uri or default_tracking_uri()
        self.job_dir = Path(context.job_dir)
        with sweep_lock(context.sweep_dir):     # parallel jobs: one creates the store, the experiment, the parent
            self.client = MlflowClient(tracking_uri=self.tracking_uri)
            experiment_id = self._experiment_id(self.experiment or experiment_name(context))
            if context.sweep_dir is not None:
                self.parent_id = self._parent_run(experiment_id, Path(context.sweep_dir))
        saved = _read_json(self.job_dir / RUN_FILE)
        if context.resumed_epoch and saved.get("tracking_uri") == self.tracking_uri and saved.get("run_id"):
            self.run_id = saved["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            logged = {m.step for m in self.client.get_metric_history(self.run_id, metric_name("train_loss"))}
            for row in context.history:      # epochs checkpointed but not logged before the stop
                if int(row["epoch"]) not in logged:
                    self.log_epoch(row)
            return
        tags = {"ablate.job_dir": str(self.job_dir.resolve()), "ablate.seed": str(context.config.get("seed"))}
        if self.parent_id:
            tags["mlflow.parentRunId"] = self.parent_id
        self.run_id = self.client.create_run(experiment_id, run_name=context.label, tags=tags).info.run_id
        self._log_params(context.config)
        records.write_json_atomic(self.job_dir / RUN_FILE, {"tracking_uri": self.tracking_uri, "run_id": self.run_id,
                                                            "experiment_id": experiment_id})
        for row in context.history:          # a resumed job that had no MLflow run yet
            self.log_epoch(row)

    def _experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return self.client.create_experiment(name, artifact_location=artifact_location(self.tracking_uri))
        except Exception:  # noqa: BLE001 - another job of the sweep created it first
            return self.client.get_experiment_by_name(name).experiment_id

    def _parent_run(self, experiment_id: str, sweep_dir: Path) -> str:
        """The sweep's parent run: made by the first job, found by the others (under the sweep's lock)."""
        parents = _read_json(sweep_dir / PARENT_FILE)
        run_id = parents.get(self.tracking_uri)
        if run_id:
            self.client.update_run(run_id, status="RUNNING")
            return run_id
        run_id = self.client.create_run(experiment_id, run_name=sweep_dir.name,
                                        tags={"ablate.sweep_dir": str(sweep_dir.resolve())}).info.run_id
        records.write_json_atomic(sweep_dir / PARENT_FILE, {**parents, self.tracking_uri: run_id})
        return run_id

    def _log_params(self, config: dict) -> None:
        from mlflow.entities import Param

        params = [Param(k, str(v)[:6000]) for k, v in flatten(config).items() if not k.startswith("logger.")]
        for i in range(0, len(params), BATCH):
            self.client.log_batch(self.run_id, params=params[i:i + BATCH])

    def _log_metrics(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in values.items()])

    def log_epoch(self, row: dict) -> None:
        self.step = int(row["epoch"])
        self._log_metrics(epoch_metrics(row), self.step)

    def finish(self, record: dict) -> None:
        self._log_metrics(final_metrics(record), self.step)
        if not self.artifacts:
            return
        for name in (records.RESULTS, records.HISTORY):
            if (self.job_dir / name).is_file():
                self.client.log_artifact(self.run_id, str(self.job_dir / name))
        import matplotlib.pyplot as plt

        for name, fig in job_figures(self.job_dir).items():
            self.client.log_figure(self.run_id, fig, f"figures/{name}.png")
            plt.close(fig)

    def close(self, status: str) -> None:
        if self.client is None or self.run_id is None:
            return
        self.client.set_terminated(self.run_id, status=STATUS.get(status, "FINISHED"))
        if self.parent_id:
            self.client.set_terminated(self.parent_id, status="FINISHED")
