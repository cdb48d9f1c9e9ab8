"""The one table of what a run record measures: every metric's key, its name and unit, its direction, how it
is shown, and where the report uses it. The sweep reader's columns, the summary's per-configuration means, the
report's percentage formatting and its other-metrics comparisons are all read from here: a new metric is one
line below (and the core's code that measures it)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str                        # in results.json's "metrics" and the runs frame's column
    name: str                       # for a reader
    unit: str                       # "%" (stored as a fraction, shown x 100) or e.g. "nats"
    higher_is_better: bool
    summary: str | None = None      # the summary's column of its mean over seeds (None: not summarised)
    compared: bool = False          # compared between configurations beside the headline (Holm per metric)
    headline: bool = False          # the figure every verdict is about (the final-epoch test accuracy)
    in_record: bool = True          # False: derived per run by the report, not read from a record

    @property
    def percent(self) -> bool:
        return self.unit == "%"


# in the order of the summary's columns (the headline's mean, std and interval come first, in their own columns)
METRIC_TABLE = (
    Metric("test_acc", "test accuracy (final epoch)", "%", True, headline=True),
    Metric("test_acc_tta", "flip-TTA test accuracy", "%", True, summary="test_acc_tta_mean", compared=True),
    Metric("test_acc_tta_multicrop", "multi-crop TTA test accuracy (mirror and 1-pixel shifts, 6 views)", "%", True,
           summary="test_acc_tta_multicrop_mean", compared=True),
    Metric("best_val_acc", "best validation accuracy (selection on val: not the headline)", "%", True,
           summary="best_val_acc_mean"),
    Metric("val_acc", "final validation accuracy", "%", True, summary="final_val_acc_mean"),
    Metric("val_acc_last5_range", "range of val accuracy over the last 5 epochs", "%", False,
           summary="val_acc_last5_range_mean", in_record=False),
    Metric("train_val_gap", "train - val accuracy, final epoch", "%", False, summary="train_val_gap_mean",
           in_record=False),
    Metric("test_ece", "test ECE (calibration error)", "%", False, summary="test_ece_mean", compared=True),
    Metric("test_nll", "test NLL", "nats", False, summary="test_nll_mean", compared=True),
    Metric("train_acc", "final training accuracy", "%", True),
    Metric("val_loss", "final validation loss", "nats", False),
    Metric("train_loss", "final training loss", "nats", False),
)
BY_KEY = {m.key: m for m in METRIC_TABLE}
HEADLINE = next(m for m in METRIC_TABLE if m.headline)
RECORD_METRICS = tuple(m.key for m in METRIC_TABLE if m.in_record)        # the sweep reader's metric columns
COMPARED = tuple(m for m in METRIC_TABLE if m.compared)
SUMMARISED = tuple(m for m in METRIC_TABLE if m.summary)
# the summary's columns of the headline: mean, std, 95% interval, min, max over seeds
HEADLINE_STATS = tuple(f"{HEADLINE.key}_{s}" for s in ("mean", "std", "ci_low", "ci_high", "min", "max"))
PERCENT_COLUMNS = frozenset(HEADLINE_STATS) | {m.summary for m in SUMMARISED if m.percent} | \
    {m.key for m in METRIC_TABLE if m.percent and m.in_record}
