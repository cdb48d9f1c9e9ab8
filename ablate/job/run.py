"""One job: skip if its record is complete, resume from its checkpoint or seed and build, train, write the record.

Every failure ends in a record with status "failed" and the reason, so a sweep goes on and a rerun
of the same command retries exactly the jobs that did not complete.
"""
from __future__ import annotations

import errno
import logging
import os
import random
import time
import traceback
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from ablate.core import TrainState, train
from ablate.core.device import CUBLAS_DETERMINISTIC, free_cached_memory, resident_budget, resolve_device, \
    resolve_precision
from ablate.core.train import is_out_of_memory
from ablate.data import make_splits
from ablate.data.dataset import check_class_counts
from ablate.data.registry import load_dataset_for_training
from ablate.errors import AblateError, TrainingError
from ablate.job.checkpoint import CHECKPOINT, PREVIOUS
from ablate.job.ownership import LOCK, JobLock, claim, foreign_files, refusal as ownership_refusal
from ablate.job.placement import place
from ablate.job.progress import Progress
from ablate.job.resume import EpochSaver, discard_checkpoints, find_resume
from ablate.job.spec import JobSpec
from ablate.loggers import LogContext, RunLoggers, open_loggers
from ablate.models import build_model
from ablate.models.weights import FINAL as FINAL_WEIGHTS, load_initial_weights, save_weights
from ablate.record import files as records
from ablate.record.atomic import remove_stale_temps
from ablate.record.identity import conflicts, identity
from ablate.record.provenance import device_name, environment

log = logging.getLogger("ablate")
REFUSED = "refused"    # a job that did not start: its folder is another's (the record and files there kept)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _disk_error(e: BaseException) -> OSError | None:
    """The OSError of a full disk or a quota behind e, however deep in its chain (torch.save reports ENOSPC as
    'RuntimeError: [enforce fail at inline_container.cc...] unexpected pos', the real cause only chained)."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return e
        e = e.__cause__ or e.__context__
    return None


def describe_error(e: BaseException) -> str:
    if isinstance(e, AblateError):
        return str(e)
    disk = _disk_error(e)
    if disk is not None:
        where = f" writing {disk.filename}" if disk.filename else ""
        return (f"no space left on the disk{where} ({disk.strerror}): free space there (or point hydra.sweep.dir "
                f"at a larger disk), then run the same command again; the last checkpoint written whole, if any, is kept, "
                f"so the job resumes from it")
    if is_out_of_memory(e):
        return f"out of memory ({str(e).splitlines()[0]}): lower trainer.batch_size or use trainer.precision=bf16"
    return f"{type(e).__name__}: {e}"


def load_splits(spec: JobSpec, label: str, device: str = "cpu"):
    """The dataset the spec names, split into train / val / test, with its classes checked; and the size
    each batch must be resized to (None when the images already have data.image_size: resized once at load
    when that fits the device's budget for resident images)."""
    budget = resident_budget(resolve_device(device))
    data, batch_size_to = load_dataset_for_training(**spec.data, resize_budget=budget)
    val_size = int(spec.data["val_size"])
    splits = make_splits(data, val_size, spec.data.get("train_subset"), int(spec.data.get("split_seed", 0)))
    if len(splits.train_y) < 2:
        raise TrainingError(f"only {len(splits.train_y)} training image(s) left after the validation split: "
                            f"lower data.val_size")
    for warning in check_class_counts(splits, val_size):
        log.warning("%s: %s", label, warning)
    return splits, batch_size_to


def build_job_model(spec: JobSpec, splits, start_from_weights: bool, label: str,
                    input_size: int | None = None) -> tuple[torch.nn.Module, dict]:
    """The model the spec names, for input_size (None: the images' own size), from model.init_from's weights
    when asked; and what describes it in a saved model.pt."""
    image_size, in_channels = input_size or splits.train_x.shape[-1], splits.train_x.shape[1]
    model = build_model(num_classes=splits.num_classes, image_size=image_size, in_channels=in_channels, **spec.model)
    if spec.model.get("init_from") and start_from_weights:
        load_initial_weights(model, spec.model["init_from"])
    return model, {"model": spec.model, "num_classes": splits.num_classes, "class_names": splits.class_names,
                   "image_size": image_size, "in_channels": in_channels, "label": label}


def resume_checkpoint(spec: JobSpec, job_dir: Path, device: str, label: str) -> tuple[dict, str]:
    """The job folder's checkpoint of this identity ({} for a fresh start), and the precision to train in:
    a resumed run keeps the precision it started with, even on other hardware."""
    checkpoint = find_resume(job_dir, spec.identity, spec.keeping.resume, label) or {}
    if spec.settings.precision == "auto" and checkpoint.get("precision"):
        return checkpoint, checkpoint["precision"]
    return checkpoint, resolve_precision(spec.settings.precision, resolve_device(device))


def place_job(spec: JobSpec, job_num: int | None, launcher: dict, sweep_dir: Path | None):
    """(device, the GPU lease to release at the job's end): the job placed, its threads set, every generator
    seeded."""
    if spec.settings.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC)   # before CUDA starts
    device, threads, lease = place(spec.settings.device, job_num, launcher, sweep_dir)
    if threads:
        torch.set_num_threads(threads)
    seed_everything(spec.seed)
    return device, lease


class Job:
    """One job training into its folder: placed, resumed from its checkpoint or built, trained, its weights
    saved. epochs_completed follows the epochs done, for the record of a job that is interrupted."""

    def __init__(self, spec: JobSpec, job_dir: Path, label: str, job_num: int | None = None,
                 launcher: dict | None = None, loggers: RunLoggers | None = None, sweep_dir: Path | None = None):
        self.spec, self.job_dir, self.label, self.job_num = spec, job_dir, label, job_num
        self.launcher, self.sweep_dir = launcher or {}, sweep_dir
        self.loggers = loggers or RunLoggers({}, label)
        self.epochs_completed = 0

    def train(self) -> dict:
        """Train (resuming from the job folder's checkpoint when there is one); the record's measured part."""
        device, lease = place_job(self.spec, self.job_num, self.launcher, self.sweep_dir)
        try:
            return self._train_on(device)
        finally:
            if lease is not None:
                lease.release()

    def _train_on(self, device: str) -> dict:
        spec, job_dir, label, keep = self.spec, self.job_dir, self.label, self.spec.keeping
        checkpoint, precision = resume_checkpoint(spec, job_dir, device, label)
        resume_state = checkpoint.get("state") or {}
        splits, resize_to = load_splits(spec, label, device)
        settings = spec.resolved(device=device, precision=precision, image_size=resize_to)
        model, weights_meta = build_job_model(spec, splits, not checkpoint, label, resize_to)
        resumed_from = checkpoint.get("resumed_from_epochs", []) + [resume_state["epoch"]] if checkpoint else []
        saver = EpochSaver(job_dir, spec.identity, keep.every, keep.save_best, weights_meta, resumed_from,
                           extra={"label": label, "precision": precision},
                           best_val_acc=resume_state.get("best_val_acc"))
        self.epochs_completed = resume_state.get("epoch", 0)
        self.loggers.start(LogContext(job_dir, label, spec.config, self.sweep_dir, self.epochs_completed,
                                      list(resume_state.get("history", []))))
        records.write_history(job_dir / records.HISTORY, resume_state.get("history", []))   # epochs done stay
        progress = Progress(settings.epochs, label, keep.progress)

        def on_epoch(row: dict, state: TrainState) -> None:
            saver(row, state, settings.epochs)      # the checkpoint first: history.csv never shows an unsaved epoch
            records.write_history(job_dir / records.HISTORY, state.history)
            self.epochs_completed = state.epoch
            progress(row)
            self.loggers.log_epoch(row)

        try:
            result = train(model, splits, settings, spec.augment, on_epoch, resume=resume_state or None,
                           mix=spec.mix)
        finally:
            progress.close()
        _write_outputs(job_dir, result, model, weights_meta if keep.save_model else None, settings.epochs)
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
            "placement": {"device": result.device, "threads": torch.get_num_threads(), "launcher": self.launcher},
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
    config = OmegaConf.to_container(cfg, resolve=True)
    foreign = foreign_files(job_dir)
    refused = ownership_refusal(job_dir, foreign) if foreign else None
    lock = JobLock(job_dir)
    holder = None if refused else lock.acquire()
    if holder:
        refused = (f"{job_dir} is being trained by {holder} (it holds {job_dir / LOCK}): wait for it to end, or "
                   f"stop it; a second run of the same job would train beside it and overwrite its files")
    if refused:
        log.error("REFUSED %s: %s", label, refused)
        return REFUSED
    try:
        return _run_locked(cfg, config, job_dir, overrides, choices, label, job_num, launcher, sweep_dir)
    finally:
        lock.release()


def _run_locked(cfg: DictConfig, config: dict, job_dir: Path, overrides: list[str], choices: dict, label: str,
                job_num: int | None, launcher: dict | None, sweep_dir) -> str:
    """run_job once this process holds the job folder."""
    done_already = _complete_already(job_dir, config, label)
    if done_already:
        return done_already
    claim(job_dir)                   # before the job writes anything here
    record = records.new_record(cfg.seed, config, overrides, choices, label, job_num)
    remove_stale_temps(job_dir)      # left by a job killed mid-write (SIGKILL); this job's folder is its own
    if not (job_dir / CHECKPOINT).exists() and not (job_dir / PREVIOUS).exists():
        (job_dir / records.HISTORY).unlink(missing_ok=True)   # a job started afresh starts its history afresh
    env = environment(cfg.trainer.device)    # provenance of the code that runs, taken before it runs
    start = time.time()
    job = None
    loggers = RunLoggers({}, label)
    try:
        spec = JobSpec.from_config(cfg)      # every key checked before any data loads
        loggers = open_loggers(spec.logger, label)
        job = Job(spec, job_dir, label, job_num, launcher, loggers, Path(sweep_dir) if sweep_dir is not None else None)
        measured = job.train()
    except (KeyboardInterrupt, SystemExit) as e:
        # SIGINT / SIGTERM, or a cluster's time limit (submitit exits the job to requeue it)
        done = job.epochs_completed if job else 0
        record.update(status=records.INTERRUPTED, epochs_completed=done, env=env,
                      error=f"interrupted after epoch {done} ({type(e).__name__}): run the same "
                            f"command again to resume from the last checkpoint")
        records.write_json_atomic(job_dir / records.RESULTS, record)
        log.warning("%s interrupted after epoch %d; a rerun resumes it", label, done)
        loggers.close(records.INTERRUPTED, timeout=5)
        raise
    except Exception as e:  # noqa: BLE001 - every failure becomes a record; the sweep goes on
        if is_out_of_memory(e) or is_out_of_memory(e.__cause__ or e):
            free_cached_memory()     # the next job of this process starts with the GPU's memory back
        record.update(epochs_completed=job.epochs_completed if job else 0, env=env, wall_seconds=time.time() - start)
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
    discard_checkpoints(job_dir, keep=job.spec.keeping.keep)
    return records.COMPLETED


def _complete_already(job_dir: Path, config: dict, label: str) -> str | None:
    """"skipped" for a complete record of this config, REFUSED for one of another config, else None (the job
    runs: no record, an unfinished one, or a completed one that cannot be read, which is said)."""
    old = records.read_record(job_dir)
    if records.is_complete(old):
        other = other_config(job_dir, old, config)
        if other:
            log.error("REFUSED %s: %s", label, other)
            return REFUSED
        log.info("skip %s: complete record in %s (test acc %.2f%%)", label, job_dir,
                 100 * old["metrics"]["test_acc"])
        return "skipped"
    if isinstance(old, dict) and old.get("status") == records.COMPLETED:
        log.warning("%s: its record %s cannot be read (%s): the job runs again", label, job_dir / records.RESULTS,
                    records.read_problem(old))
    return None


def other_config(job_dir: Path, old: dict, config: dict) -> str | None:
    """Why job_dir's complete record `old` is not this config's result (None when it is): its identity differs
    in a key both hold. Such a record must never be reported as this job's."""
    if not isinstance(old.get("config"), dict):
        return None
    diffs = conflicts(identity(old["config"]), identity(config))
    if not diffs:
        return None
    return (f"{job_dir / records.RESULTS} is the complete record of another config (it differs in "
            f"{'; '.join(diffs[:6])}{' ...' if len(diffs) > 6 else ''}): it is not this job's result and is left as "
            f"it is. Run this config in a new folder (hydra.sweep.dir=... or hydra.run.dir=...), or move that "
            f"folder away and run the same command again")


def _write_failed(record: dict, job_dir: Path, error: Exception, label: str) -> None:
    """The failed record, with the reason and the traceback; the log says why."""
    message = describe_error(error)
    record.update(status=records.FAILED, error=message, traceback=traceback.format_exc())
    if not isinstance(error, AblateError) and _disk_error(error) is None:
        log.error("%s", traceback.format_exc().rstrip())
    try:
        records.write_json_atomic(job_dir / records.RESULTS, record)
    except OSError as e:     # the disk that failed the job may not hold its record either: say so, go on
        log.error("FAILED %s: %s (and its failed record could not be written to %s: %s)", label, message,
                  job_dir / records.RESULTS, e.strerror or e)
        return
    log.error("FAILED %s: %s", label, message)


def _write_completed(record: dict, job_dir: Path, label: str) -> str:
    """The completed record, and a line saying what it measured; FAILED when the record cannot be written."""
    try:
        records.write_json_atomic(job_dir / records.RESULTS, record)
    except OSError as e:   # disk full, folder gone or read-only: this job fails, the sweep goes on
        then = ("the checkpoint is kept, so it resumes" if (job_dir / CHECKPOINT).exists() else
                "it trains again: trainer.checkpoint_every=0 kept no checkpoint")
        log.error("FAILED %s: its record cannot be written to %s (%s): free space or fix the folder's "
                  "permissions, then run the same command again (%s)", label, job_dir / records.RESULTS, e, then)
        return records.FAILED
    m, t = record["metrics"], record["timing"]
    tta = f" (tta {m['test_acc_tta']:.2%})" if m.get("test_acc_tta") is not None else ""
    val = f" val {m['val_acc']:.2%}" if m.get("val_acc") == m.get("val_acc") and m.get("val_acc") is not None else ""
    log.info(f"done {label}: test {m['test_acc']:.2%}{tta}{val}, {t['train_seconds']:.0f} s, "
             f"{t['images_per_second']:,.0f} img/s -> {job_dir}")
    return records.COMPLETED
