"""One job: skip if its record is complete, seed, build, train, write the record.

Every failure ends in a record with status "failed" and the reason, so a sweep goes on and a rerun
of the same command retries exactly the jobs that did not complete.
"""
from __future__ import annotations

import logging
import random
import time
import traceback
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from ablate import records
from ablate.core import OptimSettings, ScheduleSettings, TrainSettings, train
from ablate.data import load_dataset, make_splits
from ablate.data.augment import BatchAugment
from ablate.errors import AblateError, TrainingError
from ablate.models import build_model
from ablate.placement import place
from ablate.progress import Progress
from ablate.provenance import environment
from ablate.validate import validate

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
    return TrainSettings(epochs=t.epochs, batch_size=t.batch_size, eval_batch_size=t.eval_batch_size,
                         device=t.device, precision=t.precision, channels_last=bool(t.channels_last),
                         compile=bool(t.compile), tta=bool(t.tta), deterministic=bool(t.deterministic),
                         cudnn_benchmark=bool(t.cudnn_benchmark), fused_optimizer=bool(t.fused_optimizer),
                         seed=int(cfg.seed), label_smoothing=float(cfg.loss.label_smoothing),
                         optim=optim, schedule=schedule)


def describe_error(e: BaseException) -> str:
    if isinstance(e, AblateError):
        return str(e)
    text = str(e).lower()
    if isinstance(e, torch.cuda.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text:
        return f"out of memory ({str(e).splitlines()[0]}): lower trainer.batch_size or use trainer.precision=bf16"
    return f"{type(e).__name__}: {e}"


def train_job(cfg: DictConfig, job_dir: Path, label: str, job_num: int | None = None,
              launcher: dict | None = None) -> dict:
    """Build everything from the config, train, and return the record's measured part."""
    validate(cfg)
    device, threads = place(cfg.trainer.device, job_num, launcher or {})
    if threads:
        torch.set_num_threads(threads)
    seed_everything(int(cfg.seed))
    settings = settings_from_config(cfg)
    settings.device = device
    data_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    data = load_dataset(**data_cfg)
    splits = make_splits(data, int(cfg.data.val_size), cfg.data.train_subset, int(cfg.data.get("split_seed", 0)))
    if len(splits.train_y) < 2:
        raise TrainingError(f"only {len(splits.train_y)} training image(s) left after the validation split: "
                            f"lower data.val_size")
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    model = build_model(num_classes=splits.num_classes, image_size=splits.train_x.shape[-1], **model_cfg)
    augment = BatchAugment(OmegaConf.to_container(cfg.aug.ops, resolve=True))
    history: list[dict] = []
    progress = Progress(settings.epochs, label, cfg.trainer.progress)

    def on_epoch(row: dict) -> None:
        history.append(row)
        records.write_history(job_dir / records.HISTORY, history)
        progress(row)

    try:
        result = train(model, splits, settings, augment, on_epoch)
    finally:
        progress.close()
    return {
        "metrics": result.metrics,
        "confusion_matrix": result.confusion_matrix,
        "class_names": splits.class_names,
        "timing": result.timing,
        "data_sizes": {"train": len(splits.train_y), "val": len(splits.val_y), "test": len(splits.test_y)},
        "device": result.device,
        "placement": {"device": result.device, "threads": torch.get_num_threads(), "launcher": launcher or {}},
    }


def run_job(cfg: DictConfig, job_dir: str | Path, overrides: list[str], choices: dict, label: str,
            job_num: int | None = None, launcher: dict | None = None) -> str:
    """Run one job into job_dir unless its record is complete. Returns the record's status or 'skipped'."""
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    old = records.read_record(job_dir)
    if records.is_complete(old):
        log.info("skip %s: complete record in %s (test acc %.2f%%)", label, job_dir,
                 100 * old["metrics"]["test_acc"])
        return "skipped"
    record = {
        "status": None,
        "seed": cfg.seed,
        "config": OmegaConf.to_container(cfg, resolve=True),
        "overrides": list(overrides),
        "choices": dict(choices),
        "label": label,
        "job_num": job_num,
    }
    (job_dir / records.HISTORY).unlink(missing_ok=True)   # a retried job starts its history afresh
    start = time.time()
    try:
        measured = train_job(cfg, job_dir, label, job_num, launcher)
    except KeyboardInterrupt:
        record.update(status=records.INTERRUPTED, error="interrupted (SIGINT or SIGTERM): run again to finish",
                      env=environment(cfg.trainer.device))
        records.write_json_atomic(job_dir / records.RESULTS, record)
        log.warning("%s interrupted; its record says so and a rerun will repeat it", label)
        raise
    except Exception as e:  # noqa: BLE001 - every failure becomes a record; the sweep goes on
        message = describe_error(e)
        record.update(status=records.FAILED, error=message, traceback=traceback.format_exc(),
                      env=environment(cfg.trainer.device), wall_seconds=time.time() - start)
        records.write_json_atomic(job_dir / records.RESULTS, record)
        if not isinstance(e, AblateError):
            log.error("%s", traceback.format_exc().rstrip())
        log.error("FAILED %s: %s", label, message)
        return records.FAILED
    record.update(status=records.COMPLETED, **measured, env=environment(measured["device"]),
                  wall_seconds=time.time() - start)
    records.write_json_atomic(job_dir / records.RESULTS, record)
    m = record["metrics"]
    tta = f" (tta {m['test_acc_tta']:.2%})" if m.get("test_acc_tta") is not None else ""
    val = f" val {m['val_acc']:.2%}" if m.get("val_acc") == m.get("val_acc") and m.get("val_acc") is not None else ""
    t = record["timing"]
    log.info(f"done {label}: test {m['test_acc']:.2%}{tta}{val}, {t['train_seconds']:.0f} s, "
             f"{t['images_per_second']:,.0f} img/s -> {job_dir}")
    return records.COMPLETED
