"""What a multirun does when it ends: count the records, say what failed, and write the report.

A convenience only: `python -m ablate.report SWEEP_DIR` is the real path and works on any sweep folder.
"""
from __future__ import annotations

import logging
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ablate.record import files as records

log = logging.getLogger("ablate")
LAST_SWEEP: dict = {}


def report_is_current(sweep_dir: Path) -> bool:
    """The sweep's default report exists and is newer than every record in the folder (a relaunch whose jobs were
    all complete already changes nothing it would say)."""
    report = sweep_dir / "report" / "report.md"
    if not report.is_file():
        return False
    written = report.stat().st_mtime_ns
    return all(rec.stat().st_mtime_ns <= written for rec in sweep_dir.glob(f"*/{records.RESULTS}"))


def count_records(sweep_dir: Path) -> dict:
    """Statuses of the records in a sweep folder, read the way the report reads them."""
    from ablate.record.sweep import load_runs

    runs = load_runs(sweep_dir, include_missing=False)
    counts = {records.COMPLETED: 0, records.FAILED: 0, records.INTERRUPTED: 0}
    counts.update(runs.status.value_counts().to_dict())
    failed = [f"{Path(r.run_dir).relative_to(sweep_dir)}: {r.error if isinstance(r.error, str) else r.status}"
              for r in runs[runs.status != records.COMPLETED].itertuples()]
    return {"counts": counts, "failed": failed}


class SweepSummary(Callback):
    all_complete_at_start = False       # every job this launch asks for was complete before it began

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        self.all_complete_at_start = False
        from ablate.record.sweep import expected_jobs, keep_earlier_launch

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            jobs = expected_jobs(config, sweep_dir)
        except Exception:  # noqa: BLE001 - an unusual sweeper: Hydra still says how many it launches
            return
        try:
            kept = keep_earlier_launch(sweep_dir, jobs)     # before Hydra overwrites multirun.yaml
        except Exception as e:  # noqa: BLE001 - an unreadable earlier multirun.yaml must not stop the sweep
            kept = None
            log.warning("the earlier multirun.yaml in %s could not be read (%s): the report will not expect "
                        "its jobs", sweep_dir, e)
        if kept:
            log.info("this sweep folder was launched before with other jobs: that launch is kept as %s", kept.name)
        done = sum(records.is_complete(records.read_record(job)) for job, _ in jobs)
        self.all_complete_at_start = bool(jobs) and done == len(jobs)
        log.info("sweep of %d job(s) -> %s%s", len(jobs), sweep_dir,
                 f" ({done} complete already: skipped, unless another config made them)" if done else "")

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        summary = count_records(sweep_dir)
        LAST_SWEEP.clear()
        LAST_SWEEP.update(failed=len(summary["failed"]), counts=summary["counts"])
        if self.all_complete_at_start and report_is_current(sweep_dir):     # a restarted campaign's relaunch
            log.info("report: %s (unchanged: every job was complete already)", sweep_dir / "report" / "report.md")
        else:
            write_sweep_report(sweep_dir)
        c = summary["counts"]
        log.info("sweep %s: %d completed, %d failed, %d interrupted", sweep_dir, c[records.COMPLETED],
                 c[records.FAILED], c[records.INTERRUPTED])
        for line in summary["failed"]:
            log.error("not completed: %s", line)


def write_sweep_report(sweep_dir: Path) -> None:
    try:
        from ablate.report import write_report
        out = write_report([sweep_dir], echo=lambda text: log.info("at a glance:\n%s", text))
        log.info("report: %s", out / "report.md")
    except Exception as e:  # noqa: BLE001 - the sweep's records matter more than its report
        log.warning("the report could not be written (%s: %s); run python -m ablate.report %s",
                    type(e).__name__, e, sweep_dir)
