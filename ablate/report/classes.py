"""Per-class views of a configuration: accuracy per class, and which classes it mixes up (directed and as
unordered pairs), from the confusion matrices in the records, averaged over seeds."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ablate.report.tables import completed


def _records(runs: pd.DataFrame, config: str) -> list[dict]:
    return [r for r in completed(runs)[lambda d: d.config == config]["_record"] if r.get("confusion_matrix")]


def mean_confusion(runs: pd.DataFrame, config: str) -> tuple[np.ndarray, list[str]] | tuple[None, None]:
    """Mean confusion matrix per seed (rows: true class) and the class names; (None, None) without runs."""
    recs = _records(runs, config)
    if not recs:
        return None, None
    cm = np.mean([np.asarray(r["confusion_matrix"], dtype=float) for r in recs], axis=0)
    return cm, recs[0].get("class_names") or [str(i) for i in range(len(cm))]


def class_names(runs: pd.DataFrame, config: str) -> tuple[str, ...] | None:
    recs = _records(runs, config)
    if not recs:
        return None
    return tuple(recs[0].get("class_names") or range(len(recs[0]["confusion_matrix"])))


def per_class_accuracy(runs: pd.DataFrame, configs: list[str], labels: dict[str, str]) -> list[pd.DataFrame]:
    """Accuracy per class (rows) and configuration (columns), mean over seeds, in [0, 1]: one table per set
    of classes (configurations on different datasets do not share rows)."""
    groups: dict[tuple, dict[str, np.ndarray]] = {}
    for config in configs:
        cm, _ = mean_confusion(runs, config)
        if cm is not None:
            groups.setdefault(class_names(runs, config), {})[labels.get(config, config)] = \
                np.where(cm.sum(1) > 0, np.diag(cm) / np.maximum(cm.sum(1), 1e-12), np.nan)   # no test images: none
    return [pd.DataFrame(cols, index=pd.Index(list(names), name="class")) for names, cols in groups.items()]


def confused_pairs(runs: pd.DataFrame, config: str, top: int = 10) -> pd.DataFrame:
    """The most frequent (true -> predicted) mistakes, mean count per seed on the test split."""
    cm, names = mean_confusion(runs, config)
    if cm is None:
        return pd.DataFrame()
    total = cm.sum(1)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.dstack(np.unravel_index(np.argsort(-off, axis=None, kind="stable"), off.shape))[0][:top]
    return pd.DataFrame([{"true": names[i], "predicted": names[j], "mean_count": off[i, j],
                          "share_of_true_class": off[i, j] / max(total[i], 1)} for i, j in order if off[i, j] > 0])


def confused_pairs_unordered(runs: pd.DataFrame, config: str, top: int = 10) -> pd.DataFrame:
    """The class pairs mixed up most in either direction (cat -> dog plus dog -> cat), mean count per seed,
    and that count as a share of the two classes' test images."""
    cm, names = mean_confusion(runs, config)
    if cm is None:
        return pd.DataFrame()
    total = cm.sum(1)
    rows = [{"pair": f"{names[i]} <-> {names[j]}", "a_to_b": cm[i, j], "b_to_a": cm[j, i],
             "mean_count": cm[i, j] + cm[j, i], "share_of_pair": (cm[i, j] + cm[j, i]) / max(total[i] + total[j], 1)}
            for i in range(len(cm)) for j in range(i + 1, len(cm)) if cm[i, j] + cm[j, i] > 0]
    df = pd.DataFrame(rows)
    return df.sort_values("mean_count", ascending=False, kind="stable").head(top).reset_index(drop=True) \
        if len(df) else df
