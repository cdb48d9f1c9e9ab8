"""The run record: results.json (written last, atomically) and history.csv, one pair per job folder."""
from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from pathlib import Path

RESULTS = "results.json"
HISTORY = "history.csv"
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
    """Write to a temp file in the same folder, fsync, then rename: a reader sees the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(_clean(data), f, indent=1, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_history(path: str | Path, rows: list[dict]) -> None:
    """history.csv, one row per epoch (rewritten atomically after every epoch)."""
    path = Path(path)
    if not rows:
        return
    fields = list(rows[0])
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_record(job_dir: str | Path) -> dict | None:
    """The job's results.json, or None when it is missing or unreadable."""
    try:
        with open(Path(job_dir) / RESULTS) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_complete(record: dict | None) -> bool:
    return bool(record) and record.get("status") == COMPLETED and "metrics" in record
