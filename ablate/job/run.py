"""One job: skip if its record is complete, resume from its checkpoint or seed and build, train, write the record.

Every failure ends in a record with status "failed" and the reason, so a sweep goes on and a rerun
of the same command retries exactly the jobs that did not complete.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import random
import time
import traceback
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from ablate.record import files as records
from ablate.record.atomic import remove_stale_temps
from ablate.core import OptimSettings, ScheduleSettings, TrainSettings, TrainState, train
from ablate.job.checkpoint import CHECKPOINT, PREVIOUS
from ablate.core.losses import build_loss
from ablate.core.device import CUBLAS_DETERMINISTIC, free_cached_memory, resident_budget, resolve_device, \
    resolve_precision
from ablate.core.train import is_out_of_memory
from ablate.data import make_splits
from ablate.data.registry import load_dataset_for_training
from ablate.data.dataset import check_class_counts
from ablate.data.augment import BatchAugment
from ablate.data.mix import BatchMix
from ablate.errors import AblateError, TrainingError
from ablate.record.identity import identity
from ablate.loggers import LogContext, RunLoggers, open_loggers
from ablate.models import build_model
from ablate.models.registry import check_model_keys
from ablate.models.weights import FINAL as FINAL_WEIGHTS, load_initial_weights, save_weights
from ablate.job.placement import place
from ablate.job.progress import Progress
from ablate.record.provenance import device_name, environment
from ablate.job.resume import EpochSaver, discard_checkpoints, find_resume
from ablate.config.schema import TRAINER_KEYS
from ablate.config.validate import validate

SETTINGS_FIELDS = {f.name for f in dataclasses.fields(TrainSettings)}

log = logging.getLogger("ablate")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def settings_from_config(cfg: DictConfig) -> TrainSettings:
    """Plain training settings from the composed config (the core never sees Hydra or OmegaConf)."""
    t, o, sch = cfg.trainer, cfg.optim, OmegaConf.to_container(cfg.schedule, resolve=True)
    optim = OptimSettings(name=o.name, lr=float(o.lr), momentum=float(o.get("momentum", 0.0)),
                          weight_decay=float(o.weight_decay), nesterov=bool(o.get("nesterov", False)),
                          betas=tuple(o.get("betas", (0.9, 0.999))))
    schedule = ScheduleSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in sch.items()})
    trainer = {k: t[k] for k in TRAINER_KEYS if k in SETTINGS_FIELDS}    # typed by the schema already
    return TrainSettings(**trainer, seed=int(cfg.seed), loss=OmegaConf.to_container(cfg.loss, resolve=True),
                         optim=optim, schedule=schedule)


def describe_error(e: BaseException) -> str:
    if isinstance(e, AblateError):
        return str(e)
    if is_out_of_memory(e):
        return f"out of memory ({str(e).splitlines()[0]}): lower trainer.batch_size or use trainer.precision=bf16"
    return f"{type(e).__name__}: {e}"


def load_splits(cfg: DictConfig, label: str, device: str = "cpu"):
    """The dataset the config names, split into train / val / test, with its classes checked; and the size
    each batch must be resized to (None when the images already have data.image_size: resized once at load
    when that fits the device's budget for resident images)."""
    budget = resident_budget(resolve_device(device))
    data, batch_size_to = load_dataset_for_training(**OmegaConf.to_container(cfg.data, resolve=True),
                                                    resize_budget=budget)
    splits = make_splits(data, int(cfg.data.val_size), cfg.data.train_subset, int(cfg.data.get("split_seed", 0)))
    if len(splits.train_y) < 2:
        raise TrainingError(f"only {len(splits.train_y)} training image(s) left after the validation split: "
                            f"lower data.val_size")
    for warning in check_class_counts(splits, int(cfg.data.val_size)):
        log.warning("%s: %s", label, warning)
    return splits, batch_size_to


def build_job_model(cfg: DictConfig, splits, start_from_weights: bool, label: str,
                    settings_image_size: int | None = None) -> tuple[torch.nn.Module, dict]:
    """The model the config names (from model.init_from's weights when asked), and what describes it in a
    saved model.pt."""
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    image_size, in_channels = settings_image_size or splits.train_x.shape[-1], splits.train_x.shape[1]
    model = build_model(num_classes=splits.num_classes, image_size=image_size, in_channels=in_channels, **model_cfg)
    if model_cfg.get("init_from") and start_from_weights:
        load_initial_weights(model, model_cfg["init_from"])
    return model, {"model": model_cfg, "num_classes": splits.num_classes, "class_names": splits.class_names,
                   "image_size": image_size, "in_channels": in_channels, "label": label}


def check_config(cfg: DictConfig) -> tuple[BatchAugment, BatchMix]:
    """Every key the config names checked before any data is loaded; the batch augmentation and mixing."""
    validate(cfg)
    augment = BatchAugment(OmegaConf.to_container(cfg.aug.ops, resolve=True))
    mix = BatchMix(OmegaConf.to_container(cfg.aug.mix, resolve=True) if cfg.aug.get("mix") else None)
    check_model_keys(OmegaConf.to_container(cfg.model, resolve=True), cfg.data.get("image_size"))
    build_loss(OmegaConf.to_container(cfg.loss, resolve=True))   # an unknown loss or key fails here, before data
    return augment, mix


def resume_checkpoint(cfg: DictConfig, job_dir: Path, ident: dict, settings: TrainSettings, label: str) -> dict:
    """The job folder's checkpoint of this identity ({} for a fresh start), and settings.precision resolved:
    a resumed run keeps the precision it started with, even on other hardware."""
    checkpoint = find_resume(job_dir, ident, bool(cfg.trainer.resume), label) or {}
    if cfg.trainer.precision == "auto" and checkpoint.get("precision"):
        settings.precision = checkpoint["precision"]
    else:
        settings.precision = resolve_precision(settings.precision, resolve_device(settings.device))
    return checkpoint


def _settings(cfg: DictConfig, job_num: int | None, launcher: dict | None, sweep_dir: Path | None):
    """Place the job (device, threads, the GPU lease to release at its end), seed every generator, and read
    the training settings."""
    if cfg.trainer.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC)   # before CUDA starts
    device, threads, lease = place(cfg.trainer.device, job_num, launcher or {}, sweep_dir)
    if threads:
        torch.set_num_threads(threads)
    seed_everything(int(cfg.seed))
    settings = settings_from_config(cfg)
    settings.device = device
    return settings, lease


def train_job(cfg: DictConfig, job_dir: Path, label: str, job_num: int | None = None,
              launcher: dict | None = None, reached: dict | None = None, loggers: RunLoggers | None = None,
              sweep_dir: Path | None = None) -> dict:
    """Build everything from the config, train (resuming from the job folder's checkpoint when there is
    one), save the weights, and return the record's measured part. `reached["epoch"]` follows the epochs
    completed, for the record of an interrupted job; `loggers` see every epoch."""
    loggers = loggers or RunLoggers({}, label)
    augment, mix = check_config(cfg)
    settings, lease = _settings(cfg, job_num, launcher, sweep_dir)
    try:
        return _train_placed(cfg, job_dir, label, settings, augment, mix, launcher, reached, loggers, sweep_dir)
    finally:
        if lease is not None:
            lease.release()


def _train_placed(cfg: DictConfig, job_dir: Path, label: str, settings: TrainSettings, augment, mix,
                  launcher: dict | None, reached: dict | None, loggers: RunLoggers, sweep_dir: Path | None) -> dict:
    """train_job once the job is placed: resume, load the data, build the model, train, save."""
    t = cfg.trainer
    config = OmegaConf.to_container(cfg, resolve=True)
    ident = identity(config)
    checkpoint = resume_checkpoint(cfg, job_dir, ident, settings, label)
    resume_state = checkpoint.get("state") or {}
    splits, settings.image_size = load_splits(cfg, label, settings.device)
    settings.normalize = str(cfg.data.get("normalize", "dataset"))
    model, weights_meta = build_job_model(cfg, splits, not checkpoint, label, settings.image_size)
    resumed_from = checkpoint.get("resumed_from_epochs", []) + [resume_state["epoch"]] if checkpoint else []
    saver = EpochSaver(job_dir, ident, int(t.checkpoint_every), bool(t.save_best), weights_meta, resumed_from,
                       extra={"label": label, "precision": settings.precision},
                       best_val_acc=resume_state.get("best_val_acc"))
    progress = Progress(settings.epochs, label, t.progress)
    if reached is not None:
        reached["epoch"] = resume_state.get("epoch", 0)
    loggers.start(LogContext(job_dir, label, config, sweep_dir,
                             resume_state.get("epoch", 0), list(resume_state.get("history", []))))

    def on_epoch(row: dict, state: TrainState) -> None:
        saver(row, state, settings.epochs)      # the checkpoint first: history.csv never shows an unsaved epoch
        records.write_history(job_dir / records.HISTORY, state.history)
        if reached is not None:
            reached["epoch"] = state.epoch
        progress(row)
        loggers.log_epoch(row)

    records.write_history(job_dir / records.HISTORY, resume_state.get("history", []))   # epochs done stay
    try:
        result = train(model, splits, settings, augment, on_epoch, resume=resume_state or None, mix=mix)
    finally:
        progress.close()
    _write_outputs(job_dir, result, model, weights_meta if t.save_model else None, settings.epochs)
    return {
        "metrics": result.metrics,
        "confusion_matrix": result.confusion_matrix,
        "class_names": splits.class_names,
        "timing": {**result.timing, **saver.timing()},
        "resumed_from_epochs": resumed_from,
        "data_sizes": {"train": len(splits.train_y), "val": len(splits.val_y), "test": len(splits.test_y)},
        "device": result.device,
        "precision": result.precision,
        "optimizer_fused": result.optimizer_fused,
        "notes": result.notes,
        "placement": {"device": result.device, "threads": torch.get_num_threads(), "launcher": launcher or {}},
    }


def _write_outputs(job_dir: Path, result, model, weights_meta: dict | None, epochs: int) -> None:
    """The test predictions (predictions.npz) and, when weights_meta is given, the final weights."""
    p = result.predictions
    records.write_predictions(job_dir / records.PREDICTIONS, p["predicted"].numpy(), p["confidence"].numpy(),
                              p["label"].numpy())
    if weights_meta is not None:
        save_weights(job_dir / FINAL_WEIGHTS, model, {**weights_meta, "epoch": epochs})


def run_job(cfg: DictConfig, job_dir: str | Path, overrides: list[str], choices: dict, label: str,
            job_num: int | None = None, launcher: dict | None = None, sweep_dir: str | Path | None = None) -> str:
    """Run one job into job_dir unless its record is complete. Returns the record's status or 'skipped'.
    sweep_dir: the multirun's folder (None for a single run), for the loggers."""
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    old = records.read_record(job_dir)
    if records.is_complete(old):
        log.info("skip %s: complete record in %s (test acc %.2f%%)", label, job_dir,
                 100 * old["metrics"]["test_acc"])
        return "skipped"
    record = records.new_record(cfg.seed, OmegaConf.to_container(cfg, resolve=True), overrides, choices, label,
                                job_num)
    remove_stale_temps(job_dir)      # left by a job killed mid-write (SIGKILL); this job's folder is its own
    if not (job_dir / CHECKPOINT).exists() and not (job_dir / PREVIOUS).exists():
        (job_dir / records.HISTORY).unlink(missing_ok=True)   # a job started afresh starts its history afresh
    env = environment(cfg.trainer.device)    # provenance of the code that runs, taken before it runs
    start = time.time()
    reached = {"epoch": 0}
    loggers = RunLoggers({}, label)
    try:
        loggers = open_loggers(OmegaConf.to_container(cfg.logger, resolve=True) if cfg.get("logger") else None, label)
        measured = train_job(cfg, job_dir, label, job_num, launcher, reached, loggers,
                             Path(sweep_dir) if sweep_dir is not None else None)
    except (KeyboardInterrupt, SystemExit) as e:
        # SIGINT / SIGTERM, or a cluster's time limit (submitit exits the job to requeue it)
        record.update(status=records.INTERRUPTED, epochs_completed=reached["epoch"], env=env,
                      error=f"interrupted after epoch {reached['epoch']} ({type(e).__name__}): run the same "
                            f"command again to resume from the last checkpoint")
        records.write_json_atomic(job_dir / records.RESULTS, record)
        log.warning("%s interrupted after epoch %d; a rerun resumes it", label, reached["epoch"])
        loggers.close(records.INTERRUPTED, timeout=5)
        raise
    except Exception as e:  # noqa: BLE001 - every failure becomes a record; the sweep goes on
        if is_out_of_memory(e) or is_out_of_memory(e.__cause__ or e):
            free_cached_memory()     # the next job of this process starts with the GPU's memory back
        record.update(epochs_completed=reached["epoch"], env=env, wall_seconds=time.time() - start)
        _write_failed(record, job_dir, e, label)
        loggers.close(records.FAILED)
        return records.FAILED
    env.update(device=measured["device"], device_name=device_name(measured["device"]),
               precision=measured.pop("precision"), optimizer_fused=measured.pop("optimizer_fused"), tf32=False)
    record.update(status=records.COMPLETED, **measured, env=env, wall_seconds=time.time() - start)
    if _write_completed(record, job_dir, label) == records.FAILED:
        loggers.close(records.FAILED)
        return records.FAILED
    loggers.finish(record)          # after the record is on disk: a logger can add to it, never lose it
    loggers.close(records.COMPLETED)
    discard_checkpoints(job_dir, keep=bool(cfg.trainer.keep_checkpoint))
    return records.COMPLETED


def _write_failed(record: dict, job_dir: Path, error: Exception, label: str) -> None:
    """The failed record, with the reason and the traceback; the log says why."""
    message = describe_error(error)
    record.update(status=records.FAILED, error=message, traceback=traceback.format_exc())
    records.write_json_atomic(job_dir / records.RESULTS, record)
    if not isinstance(error, AblateError):
        log.error("%s", traceback.format_exc().rstrip())
    log.error("FAILED %s: %s", label, message)


def _write_completed(record: dict, job_dir: Path, label: str) -> str:
    """The completed record, and a line saying what it measured; FAILED when the record cannot be written."""
    try:
        records.write_json_atomic(job_dir / records.RESULTS, record)
    except OSError as e:   # disk full, folder gone or read-only: this job fails, the sweep goes on
        log.error("FAILED %s: its record cannot be written to %s (%s): free space or fix the folder's "
                  "permissions, then run the same command again (the checkpoint is kept, so it resumes)",
                  label, job_dir / records.RESULTS, e)
        return records.FAILED
    m, t = record["metrics"], record["timing"]
    tta = f" (tta {m['test_acc_tta']:.2%})" if m.get("test_acc_tta") is not None else ""
    val = f" val {m['val_acc']:.2%}" if m.get("val_acc") == m.get("val_acc") and m.get("val_acc") is not None else ""
    log.info(f"done {label}: test {m['test_acc']:.2%}{tta}{val}, {t['train_seconds']:.0f} s, "
             f"{t['images_per_second']:,.0f} img/s -> {job_dir}")
    return records.COMPLETED
