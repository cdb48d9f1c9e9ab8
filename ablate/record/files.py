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


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _list_of(v, ok) -> bool:
    return isinstance(v, list) and all(ok(x) for x in v)


# what the readers (report, status, a rerun's skip) take from a record, and the shape each must have: a record that
# breaks one is listed as unreadable, naming the field, instead of failing the whole report
_READ_SHAPES = (
    ("status", lambda v: v is None or isinstance(v, str), "a string"),
    ("seed", lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)), "an integer"),
    ("config", lambda v: isinstance(v, dict), "a mapping"),
    ("overrides", lambda v: _list_of(v, lambda x: isinstance(x, str)), "a list of strings"),
    ("choices", lambda v: isinstance(v, dict), "a mapping"),
    ("metrics", lambda v: isinstance(v, dict), "a mapping"),
    ("confusion_matrix", lambda v: _list_of(v, lambda row: _list_of(row, _number) and len(row) == len(v)),
     "a square list of lists of numbers"),
    ("class_names", lambda v: _list_of(v, lambda x: isinstance(x, (str, int))), "a list of names"),
    ("timing", lambda v: isinstance(v, dict) and all(x is None or _number(x) for x in v.values()),
     "a mapping of numbers"),
    ("env", lambda v: isinstance(v, dict), "a mapping"),
)


def read_problem(record) -> str | None:
    """Why the readers cannot use this record (None when it can): not a JSON object, a field of the wrong shape,
    a completed record without its test accuracy. Fields a record lacks are not problems (older records lack
    some), except metrics.test_acc in a completed one: every table is about it."""
    if not isinstance(record, dict):
        return f"it holds a JSON {type(record).__name__}, not an object"
    for key, ok, shape in _READ_SHAPES:
        if key in record and not ok(record[key]):
            return f"its `{key}` is {record[key]!r:.60}, not {shape}"
    metrics = record.get("metrics") or {}
    bad = {k: v for k, v in metrics.items() if k not in ("per_class_acc", "reliability") and v is not None
           and not _number(v)}
    if bad:
        k = next(iter(bad))
        return f"its `metrics.{k}` is {bad[k]!r:.60}, not a number"
    if "per_class_acc" in metrics and not _list_of(metrics["per_class_acc"], lambda x: x is None or _number(x)):
        return f"its `metrics.per_class_acc` is {metrics['per_class_acc']!r:.60}, not a list of numbers"
    if record.get("status") == COMPLETED and not _number(metrics.get("test_acc")):
        return "it says completed but has no `metrics.test_acc`"
    return None


def read_history(job_dir: str | Path) -> tuple[list[dict], str | None]:
    """history.csv as rows of numbers (a value that is not one reads None), in epoch order, and what was wrong
    with the file, if anything: a row without a whole epoch number is left out, a file that is not text is
    read as no history. Missing file: no rows, no problem."""
    path = Path(job_dir) / HISTORY
    try:
        with open(path, newline="", encoding="utf-8") as f:
            raw = list(csv.DictReader(f))
    except FileNotFoundError:
        return [], None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        return [], f"{path} cannot be read as a history ({type(e).__name__}): it is left out"

    def num(v):
        try:
            x = float(v)
        except (TypeError, ValueError):
            return None
        return x if math.isfinite(x) else None

    rows, dropped = [], 0
    for r in raw:
        row = {k: num(v) for k, v in r.items() if k is not None}
        epoch = row.get("epoch")
        if epoch is None or epoch != int(epoch) or epoch < 1:
            dropped += 1
            continue
        rows.append({**row, "epoch": int(epoch)})
    rows.sort(key=lambda r: r["epoch"])
    problem = f"{path}: {dropped} row(s) without an epoch number left out" if dropped else None
    return rows, problem


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
    """A completed record the readers can use (read_problem finds nothing wrong with it)."""
    return isinstance(record, dict) and record.get("status") == COMPLETED and read_problem(record) is None


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
