"""The run record: results.json (written last, atomically) and history.csv, one pair per job folder."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ablate.record.atomic import atomic_write

RESULTS = "results.json"
HISTORY = "history.csv"
PREDICTIONS = "predictions.npz"   # per test image, in test-split order: predicted, confidence, label
COMPLETED, FAILED, INTERRUPTED = "completed", "failed", "interrupted"
# results.json's format: 2 added `version` itself, `env.optimizer_fused`, `env.tf32` and `notes`; records without
# the key are version 1 and read the same way
RECORD_VERSION = 2
# what every record holds from the start, and what a completed one adds (docs/record.md says what each means)
START_KEYS = ("version", "status", "seed", "config", "overrides", "choices", "label", "job_num")
COMPLETED_KEYS = ("metrics", "confusion_matrix", "class_names", "timing", "env", "resumed_from_epochs")
METRIC_KEYS = ("test_acc", "test_acc_tta", "val_acc", "best_val_acc", "train_acc", "test_nll", "test_ece",
               "per_class_acc")


def new_record(seed: int, config: dict, overrides: list[str], choices: dict, label: str,
               job_num: int | None) -> dict:
    """A job's record before it runs: the one way records start (the job, and the test helpers that fake them)."""
    return {"version": RECORD_VERSION, "status": None, "seed": seed, "config": config, "overrides": list(overrides),
            "choices": dict(choices), "label": label, "job_num": job_num}


def record_version(record: dict) -> int:
    return int(record.get("version", 1))


def record_problems(record: dict) -> list[str]:
    """What a record lacks against its format (empty when it is whole): ties the writer, the readers and the
    fakes to one description."""
    missing = [k for k in START_KEYS if k not in record and not (k == "version" and record_version(record) == 1)]
    if record.get("status") == COMPLETED:
        missing += [k for k in COMPLETED_KEYS if k not in record]
        missing += [f"metrics.{k}" for k in METRIC_KEYS if k not in (record.get("metrics") or {})]
    if record_version(record) > RECORD_VERSION:
        missing.append(f"a reader of version {record_version(record)} (this ablate reads up to {RECORD_VERSION})")
    return missing


def _clean(obj):
    """JSON has no NaN: write null instead."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json_atomic(path: str | Path, data: dict) -> None:
    """Write JSON atomically: a reader sees the old file or the new one."""
    atomic_write(path, lambda f: json.dump(_clean(data), f, indent=1, allow_nan=False))


def write_history(path: str | Path, rows: list[dict]) -> None:
    """history.csv, one row per epoch (rewritten atomically after every epoch)."""
    if not rows:
        return

    def write(f):
        w = csv.DictWriter(f, fieldnames=list(rows[0]), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)

    atomic_write(path, write)


def read_record(job_dir: str | Path) -> dict | None:
    """The job's results.json, or None when it is missing or unreadable."""
    try:
        with open(Path(job_dir) / RESULTS) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_complete(record: dict | None) -> bool:
    return bool(record) and record.get("status") == COMPLETED and "metrics" in record


def write_predictions(path: str | Path, predicted, confidence, label) -> None:
    """The test split's predictions, compactly (about 30 KB for 10,000 images): class ids as the smallest
    integer type that holds them, confidences as float16."""
    import numpy as np

    ids = np.uint8 if max(int(predicted.max(initial=0)), int(label.max(initial=0))) < 256 else np.int32
    atomic_write(path, lambda f: np.savez_compressed(f, predicted=predicted.astype(ids), label=label.astype(ids),
                                                     confidence=confidence.astype(np.float16)), binary=True)


def read_predictions(job_dir: str | Path) -> dict | None:
    import numpy as np

    try:
        with np.load(Path(job_dir) / PREDICTIONS) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError):
        return None
