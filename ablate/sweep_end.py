"""What a multirun does when it ends: count the records, say what failed, and write the report.

A convenience only: `python -m ablate.report SWEEP_DIR` is the real path and works on any sweep folder.
"""
from __future__ import annotations

import logging
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ablate import records

log = logging.getLogger("ablate")
LAST_SWEEP: dict = {}


def count_records(sweep_dir: Path) -> dict:
    counts = {records.COMPLETED: 0, records.FAILED: 0, records.INTERRUPTED: 0}
    failed = []
    for path in sorted(sweep_dir.rglob(records.RESULTS)):
        rec = records.read_record(path.parent)
        status = (rec or {}).get("status", "unreadable")
        counts[status] = counts.get(status, 0) + 1
        if status != records.COMPLETED:
            failed.append(f"{path.parent.relative_to(sweep_dir)}: {(rec or {}).get('error', status)}")
    return {"counts": counts, "failed": failed}


class SweepSummary(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        summary = count_records(sweep_dir)
        LAST_SWEEP.clear()
        LAST_SWEEP.update(failed=len(summary["failed"]), counts=summary["counts"])
        try:
            from ablate.report.cli import write_report
            out = write_report([sweep_dir])
            log.info("report: %s", out / "report.md")
        except ImportError:
            pass
        except Exception as e:  # noqa: BLE001 - the sweep's records matter more than its report
            log.warning("the report could not be written (%s: %s); run python -m ablate.report %s",
                        type(e).__name__, e, sweep_dir)
        c = summary["counts"]
        log.info("sweep %s: %d completed, %d failed, %d interrupted", sweep_dir, c[records.COMPLETED],
                 c[records.FAILED], c[records.INTERRUPTED])
        for line in summary["failed"]:
            log.error("not completed: %s", line)
