"""How long the report takes to aggregate many records: `python -m ablate.bench.report_speed`.

Writes N synthetic records with E-epoch histories into a temporary sweep folder (not timed), then times
collecting them into tables (runs, histories, summary, deltas, interactions) and, apart, the figures.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from ablate.record.synthetic import write_sweep
from ablate.bench.common import save
from ablate.record.provenance import environment
from ablate.report import build, write_report


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m ablate.bench.report_speed", description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--configs", type=int, default=20)
    p.add_argument("--out", help="write the result as JSON here")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    seeds = args.records // args.configs
    arms = {f"aug=a{i // 4} schedule=s{i % 4}": list(0.7 + 0.01 * i + 0.01 * rng.standard_normal(seeds))
            for i in range(args.configs)}
    with tempfile.TemporaryDirectory() as tmp:
        sweep = write_sweep(Path(tmp) / "sweep", arms, epochs=args.epochs)
        t0 = time.perf_counter()
        report = build(sweep)
        tables_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        write_report(sweep, out=Path(tmp) / "report")
        full_s = time.perf_counter() - t0
    result = {"records": len(report.runs), "history_rows": len(report.histories), "epochs": args.epochs,
              "configs": args.configs, "aggregate_seconds": round(tables_s, 3),
              "full_report_seconds": round(full_s, 3), "env": environment()}
    print(f"{result['records']} records x {args.epochs} epochs: aggregate (tables) {tables_s:.2f} s; "
          f"full report with figures {full_s:.2f} s")
    save(args.out, result)
    return result


if __name__ == "__main__":
    main()
