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
