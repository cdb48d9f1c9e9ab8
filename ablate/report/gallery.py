"""Misclassified test images for a configuration's most confused class pairs, read from one run's
`predictions.npz` and the test images of the dataset it names (skipped, with a reason, when either is
missing)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ablate.record import files as records
from ablate.report.tables import completed


def _predictions(runs: pd.DataFrame, config: str) -> tuple[dict, dict] | tuple[None, None]:
    """The first completed run of `config` (lowest seed) that saved its predictions, and its record."""
    for run_dir, record in completed(runs)[lambda d: d.config == config].sort_values("seed")[
            ["run_dir", "_record"]].to_numpy():
        preds = records.read_predictions(run_dir)
        if preds is not None:
            return preds, record
    return None, None


def test_images(record: dict) -> np.ndarray | None:
    """The run's test images (N, C, H, W) uint8, loaded from where the record says (never downloaded)."""
    from ablate.data import load_dataset

    data_cfg = {**(record.get("config") or {}).get("data", {}), "download": False}
    try:
        return load_dataset(**data_cfg).test_x.numpy()
    except Exception:  # noqa: BLE001 - the data is not here: the gallery is left out, the report goes on
        return None


def gallery_items(runs: pd.DataFrame, config: str, pairs: pd.DataFrame, per_pair: int = 8):
    """(images, rows, reason): rows of (pair, [(image index, true name, predicted name, confidence)]),
    the most confident mistakes first; reason says why there is nothing to show."""
    preds, record = _predictions(runs, config)
    if preds is None:
        return None, [], "no run of this configuration saved predictions.npz (runs made before predictions were saved have none)"
    images = test_images(record)
    if images is None or len(images) != len(preds["label"]):
        return None, [], f"the test images of {record['config'].get('data', {}).get('name')} are not readable here"
    names = record.get("class_names") or [str(i) for i in range(int(preds["label"].max()) + 1)]
    index = {n: i for i, n in enumerate(names)}
    rows = []
    for pair in pairs.pair:
        a, b = (index[n] for n in pair.split(" <-> "))
        y, p = preds["label"].astype(int), preds["predicted"].astype(int)
        wrong = np.flatnonzero(((y == a) & (p == b)) | ((y == b) & (p == a)))
        wrong = wrong[np.argsort(-preds["confidence"][wrong].astype(float), kind="stable")][:per_pair]
        if len(wrong):
            rows.append((pair, [(int(i), names[y[i]], names[p[i]], float(preds["confidence"][i])) for i in wrong]))
    if not rows:
        return None, [], "the run with saved predictions made none of these mistakes"
    return images, rows, ""


def gallery_figure(images: np.ndarray, rows: list, title: str):
    import matplotlib.pyplot as plt

    cols = max((len(items) for _, items in rows), default=1)
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.25 * cols, 1.45 * len(rows) + 0.5), squeeze=False)
    for r, (pair, items) in enumerate(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(items):
                i, true, pred, conf = items[c]
                img = images[i].transpose(1, 2, 0)
                ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None,
                          interpolation="nearest")
                ax.set_title(f"{true}->{pred}\n{100 * conf:.0f}%", fontsize=6)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig
