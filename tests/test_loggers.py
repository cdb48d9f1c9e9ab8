"""The logger group: TensorBoard and MLflow runs read back with the tools' own readers equal the run records;
resumed jobs continue their TensorBoard folder and MLflow run; a failing or slow logger never fails or blocks
a run; a missing package fails before training with the install command."""
from __future__ import annotations

import csv
import json
import logging
import threading

import pytest
from omegaconf import OmegaConf, open_dict

from ablate import loggers as loggers_pkg
from ablate.errors import ConfigError
from ablate.record.identity import identity
from ablate.loggers import LOGGERS, RunLoggers, open_loggers, register_logger
from ablate.job.run import run_job
from ablate.status import sweep_status
from conftest import CONF, TINY

tb = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
mlflow = pytest.importorskip("mlflow")


def tensorboard_scalars(job_dir) -> dict[str, dict[int, float]]:
    """{tag: {step: value}} as TensorBoard reads the job's folder (purged events dropped, as it shows them)."""
    acc = tb.EventAccumulator(str(job_dir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}, acc


def history_of(job_dir) -> list[dict]:
    with open(job_dir / "history.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def assert_epochs_match(by_step: dict[int, float], history: list[dict], key: str) -> None:
    assert sorted(by_step) == [int(r["epoch"]) for r in history]
    for row in history:
        assert by_step[int(row["epoch"])] == pytest.approx(row[key], rel=1e-6)   # TensorBoard keeps float32


def test_every_logger_yaml_names_a_registered_logger_with_its_keys():
    names = sorted(p.stem for p in (CONF / "logger").glob("*.yaml"))
    assert names == LOGGERS.names()
    for name in names:
        node = OmegaConf.to_container(OmegaConf.load(CONF / "logger" / f"{name}.yaml"))
        assert list(node) == [name]          # merged under `logger.<name>` when several are selected
        LOGGERS.check(name, node[name])


def test_loggers_are_not_part_of_what_a_run_computes(make_cfg):
    plain = OmegaConf.to_container(make_cfg(TINY), resolve=True)
    watched = OmegaConf.to_container(make_cfg([*TINY, "logger=[tensorboard,mlflow]"]), resolve=True)
    assert "logger" not in plain and set(watched["logger"]) == {"tensorboard", "mlflow"}
    assert identity(plain) == identity(watched)


def test_a_misspelled_logger_key_names_the_valid_ones():
    with pytest.raises(ConfigError, match="no parameter figurs.*figures, hparams"):
        open_loggers({"tensorboard": {"figurs": False}})


def test_sweep_with_tensorboard_and_mlflow_equals_the_records(ablate_cli, tmp_path):
    sweep = tmp_path / "sweep"
    out = ablate_cli(["-m", *TINY, "aug=none,cropflip", "trainer.epochs=2", "logger=[tensorboard,mlflow]",
                      f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    jobs = sorted(p.parent for p in sweep.glob("*/results.json"))
    assert len(jobs) == 2 and not any("logger" in j.name for j in jobs)
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")    # the default store: where it ran
    experiment = client.get_experiment_by_name("sweep")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    parent = runs.pop("sweep")
    assert set(runs) == {j.name for j in jobs}
    for job in jobs:
        record, history = json.loads((job / "results.json").read_text()), history_of(job)
        scalars, acc = tensorboard_scalars(job)
        for key in ("val_acc", "train_loss", "lr"):
            tag = {"val_acc": "val/acc", "train_loss": "train/loss", "lr": "lr"}[key]
            assert_epochs_match(scalars[tag], history, key)
            assert_epochs_match({m.step: m.value for m in client.get_metric_history(runs[job.name].info.run_id, tag)},
                                history, key)
        assert scalars["final/test_acc"][2] == pytest.approx(record["metrics"]["test_acc"], rel=1e-6)
        assert set(acc.Tags()["images"]) == {"figures/confusion_matrix", "figures/curves"}
        assert "_hparams_/session_start_info" in acc.PluginTagToContent("hparams")     # the HParams view
        run = runs[job.name]
        assert run.data.metrics["final/test_acc"] == pytest.approx(record["metrics"]["test_acc"])
        assert run.data.params["aug.name"] == record["config"]["aug"]["name"]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id and run.info.status == "FINISHED"
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"results.json", "history.csv", "figures"} <= artifacts
    status = sweep_status(sweep)
    assert list(status.status) == ["completed", "completed"]


class Interrupt(Exception):
    pass


def test_a_resumed_job_continues_its_tensorboard_folder_and_mlflow_run(make_cfg, tmp_path, monkeypatch):
    cfg = make_cfg([*TINY, "trainer.epochs=3", "logger=[tensorboard,mlflow]",
                    f"logger.mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}"])
    job = tmp_path / "sweep" / "job"
    import ablate.job.run as run_module
    real_progress = run_module.Progress

    class StopAfterEpoch2(real_progress):     # a stop right after epoch 2's checkpoint, before any logger saw it
        def __call__(self, row):
            if row["epoch"] == 2:
                raise KeyboardInterrupt("stop")
            super().__call__(row)

    monkeypatch.setattr(run_module, "Progress", StopAfterEpoch2)
    with pytest.raises(KeyboardInterrupt):
        run_job(cfg, job, [], {}, "job", sweep_dir=tmp_path / "sweep")
    monkeypatch.setattr(run_module, "Progress", real_progress)
    first_run = json.loads((job / "mlflow_run.json").read_text())["run_id"]
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert client.get_run(first_run).info.status == "KILLED"
    assert run_job(cfg, job, [], {}, "job", sweep_dir=tmp_path / "sweep") == "completed"
    record, history = json.loads((job / "results.json").read_text()), history_of(job)
    assert record["resumed_from_epochs"] == [2]
    assert json.loads((job / "mlflow_run.json").read_text())["run_id"] == first_run      # the same MLflow run
    children = [r for r in client.search_runs([client.get_run(first_run).info.experiment_id])
                if r.data.tags.get("mlflow.parentRunId")]
    assert [r.info.run_id for r in children] == [first_run]
    assert_epochs_match({m.step: m.value for m in client.get_metric_history(first_run, "val/acc")}, history, "val_acc")
    scalars, _ = tensorboard_scalars(job)
    assert_epochs_match(scalars["val/acc"], history, "val_acc")     # epoch 2 (logged by no one before) is there
    assert client.get_run(first_run).info.status == "FINISHED"
    experiment = client.get_experiment(client.get_run(first_run).info.experiment_id)
    assert experiment.artifact_location.startswith(str(tmp_path))      # beside the store, not in the cwd


class Recorder:
    def __init__(self):
        self.calls = []

    def start(self, context):
        self.calls.append(("start", context.resumed_epoch))

    def log_epoch(self, row):
        self.calls.append(("epoch", row["epoch"]))

    def finish(self, record):
        self.calls.append(("finish", record["status"]))

    def close(self, status):
        self.calls.append(("close", status))


class Flaky(Recorder):
    def log_epoch(self, row):
        super().log_epoch(row)
        raise OSError(28, "No space left on device")


@pytest.fixture
def fake_loggers():
    made = {}
    for name, cls in (("recorder", Recorder), ("flaky", Flaky)):
        register_logger(name)(lambda cls=cls, name=name: made.setdefault(name, cls()))
    yield made
    for name in ("recorder", "flaky"):
        LOGGERS.entries.pop(name)


def test_a_failing_logger_warns_once_and_the_run_and_other_loggers_go_on(make_cfg, tmp_path, caplog,
                                                                         fake_loggers):
    cfg = make_cfg([*TINY, "trainer.epochs=3"])
    with open_dict(cfg):
        cfg.logger = {"flaky": {}, "recorder": {}}
    with caplog.at_level(logging.WARNING, logger="ablate"):
        assert run_job(cfg, tmp_path / "job", [], {}, "job") == "completed"
    warnings = [r.message for r in caplog.records if "logger flaky failed" in r.getMessage()]
    assert len(warnings) == 1 and "No space left" in caplog.text
    assert fake_loggers["flaky"].calls == [("start", 0), ("epoch", 1)]           # off after its failure
    assert fake_loggers["recorder"].calls == [("start", 0), ("epoch", 1), ("epoch", 2), ("epoch", 3),
                                              ("finish", "completed"), ("close", "completed")]


def test_a_blocked_logger_never_blocks_the_run(caplog):
    release = threading.Event()

    class Stuck(Recorder):
        def log_epoch(self, row):
            release.wait()        # a tracking server that does not answer

    stuck = RunLoggers({"stuck": Stuck()}, "job")
    for epoch in range(1, 50):
        stuck.log_epoch({"epoch": epoch})      # returns at once: the worker thread waits, not the run
    with caplog.at_level(logging.WARNING, logger="ablate"):
        stuck.close("completed", timeout=0.2)
    assert "still busy" in caplog.text
    release.set()


def test_a_logger_whose_package_is_missing_fails_before_training_with_the_install_command(make_cfg, tmp_path,
                                                                                           monkeypatch):
    real = loggers_pkg.base.importlib.util.find_spec
    monkeypatch.setattr(loggers_pkg.base.importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    cfg = make_cfg([*TINY, "trainer.epochs=2", "logger=mlflow"])
    assert run_job(cfg, tmp_path / "job", [], {}, "job") == "failed"
    record = json.loads((tmp_path / "job" / "results.json").read_text())
    assert "pip install -e '.[mlflow]'" in record["error"] and record["epochs_completed"] == 0
    assert not (tmp_path / "job" / "history.csv").exists() or len(history_of(tmp_path / "job")) == 0


def test_parallel_jobs_share_one_mlflow_store_experiment_and_parent(ablate_cli, tmp_path):
    # two joblib workers starting at once used to race to create the SQLite store's tables
    sweep = tmp_path / "sweep"
    out = ablate_cli(["-m", *TINY, "seed=0,1", "trainer.epochs=2", "logger=mlflow", "hydra/launcher=joblib",
                      "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "logger mlflow failed" not in out.stdout + out.stderr
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("sweep").experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert all(len(client.get_metric_history(r.info.run_id, "val/acc")) == 2 for r in children)
