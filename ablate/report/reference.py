"""Published figures to hold a sweep against (the lesson's ladder, a paper's table): a YAML file with a
`source` and one mapping named by the record's accuracy it compares (`test_acc`, the final-epoch test accuracy,
or e.g. `test_acc_tta_multicrop` for a paper that reports multi-crop TTA accuracy), in % per configuration; the
report says where each of ours lands.

    source: "the lesson's CIFAR-10 ladder (small CNN, 100 epochs)"
    test_acc:
      rung=0_baseline: 70
      rung=1_cropflip: 85
"""
from __future__ import annotations

import math
from pathlib import Path
import pandas as pd

from ablate.record.files import COMPLETED
from ablate.record.metrics import HEADLINE, METRIC_TABLE
from ablate.record.sweep import match_config, matching_configs
from ablate.report import stats

# the accuracies a reference may name: the percentages a record carries
COMPARABLE = tuple(m.key for m in METRIC_TABLE if m.percent and m.in_record)


def load_reference(path: str | Path) -> dict:
    """The file's source, its metric and {configuration query: accuracy as a fraction}; a bad file names its
    fix."""
    from omegaconf import OmegaConf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"reference file {path} not found: pass a YAML file with `source` and `test_acc`")
    try:
        data = OmegaConf.to_container(OmegaConf.load(path))
    except Exception as e:  # noqa: BLE001 - YAML's and OmegaConf's errors: say which file, and where
        first = str(e).strip().splitlines()
        raise ValueError(f"reference file {path} is not valid YAML ({' '.join(first[-2:]) if first else e}): "
                         f"write `source: ...` and `test_acc:` with one `CONFIG: PERCENT` line each") from None
    named = [k for k in COMPARABLE if isinstance(data, dict) and k in data]
    if len(named) > 1:
        raise ValueError(f"{path} names {len(named)} metrics ({', '.join(named)}): one reference file compares "
                         f"one; write one file per metric")
    unknown = sorted(set(data) - {"source", *COMPARABLE}) if isinstance(data, dict) else []
    figures = data.get(named[0]) if named else None
    if not isinstance(figures, dict) or not figures:
        raise ValueError(f"{path} has no `test_acc` mapping"
                         + (f" (it has {', '.join(map(str, unknown))}, which is not a record's accuracy)" if unknown
                            else "")
                         + ": write `test_acc:` (or another accuracy the record holds: " + ", ".join(COMPARABLE[1:])
                         + ") then one `CONFIG: PERCENT` line per configuration, e.g. `rung=0_baseline: 70`")
    metric = named[0]
    bad = {k: v for k, v in figures.items() if isinstance(v, bool) or not isinstance(v, (int, float))
           or not 0 < v <= 100}
    if bad:
        raise ValueError(f"{path}: {metric} values must be percentages in (0, 100], got {bad}")
    return {"source": str(data.get("source") or path.name), "metric": metric,
            "test_acc": {k: v / 100 for k, v in figures.items()}}


NOT_MATCHED = "not matched: no run of it here yet, or it is spelled otherwise"


def _reading(n: int, mean: float, low: float, high: float, ref: float) -> str:
    if not n:
        return "no run yet"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{'above' if ref > mean else 'below'} ours (one seed: no interval)"
    if low <= ref <= high:
        return "within our interval"
    return "above our interval" if ref > high else "below our interval"


def reference_table(runs: pd.DataFrame, configs: list[str], reference: dict) -> pd.DataFrame:
    """Per referenced configuration: the reference, our n, mean and interval of the reference's metric over the
    completed runs that have it, the difference, and whether the reference lies within our 95% interval (the
    reference itself is taken as exact)."""
    rows = []
    metric = reference.get("metric", HEADLINE.key)
    done = runs[(runs.status == COMPLETED) & runs[metric].notna()] if metric in runs else runs.iloc[:0]
    for query, ref in reference["test_acc"].items():
        if not matching_configs(configs, query):
            rows.append({"config": query, "reference": ref, "n": 0, "test_acc_mean": math.nan,
                         "test_acc_ci_low": math.nan, "test_acc_ci_high": math.nan,
                         "ours_minus_reference": math.nan, "reference_is": NOT_MATCHED})
            continue
        config = match_config(configs, query)      # a query that names several configurations is an error
        ours = done[done.config == config][metric] if len(done) else pd.Series(dtype=float)
        n = len(ours)
        _, _, low, high = stats.t_interval(ours, bounds=(0.0, 1.0))
        mean = ours.mean() if n else math.nan
        rows.append({"config": config, "reference": ref, "n": n, "test_acc_mean": mean, "test_acc_ci_low": low,
                     "test_acc_ci_high": high, "ours_minus_reference": mean - ref if n else math.nan,
                     "reference_is": _reading(n, mean, low, high, ref)})
    return pd.DataFrame(rows)
